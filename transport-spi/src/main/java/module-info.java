/** The transport SPI: how Catena's client and servers exchange session steps and pushes. */
module dev.catena.transport.spi {
    requires transitive dev.catena.api;
    exports dev.catena.transport.spi;
}

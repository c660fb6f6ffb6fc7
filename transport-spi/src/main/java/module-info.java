/**
 * The transport SPI: the wire schema (protobuf, {@code dev.catena.transport.proto}) and the plugin
 * interface that carries its frames. Transports move frames; the protocol's meaning is core's.
 * {@code dev.catena.transport.memory} is the in-process transport, for tests and embedding.
 */
module dev.catena.transport.spi {
    requires transitive dev.catena.api;
    requires transitive com.google.protobuf;
    exports dev.catena.transport.spi;
    exports dev.catena.transport.proto;
    exports dev.catena.transport.memory;
    exports dev.catena.transport.sign;
    provides dev.catena.transport.spi.TransportProvider with dev.catena.transport.memory.MemoryTransportProvider;
}

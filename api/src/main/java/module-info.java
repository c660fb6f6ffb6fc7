/** Catena's public API: what applications, span backends and transports share. Depends on nothing of Catena's. */
module dev.catena.api {
    exports dev.catena.api;
    exports dev.catena.api.spi;
    exports dev.catena.api.directory;
}

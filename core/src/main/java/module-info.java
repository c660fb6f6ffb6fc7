/** Catena's runtime: finds span backends and transports through ServiceLoader only. */
module dev.catena.core {
    requires transitive dev.catena.api;
    requires transitive dev.catena.transport.spi;
    exports dev.catena.core;
    exports dev.catena.core.local;
    exports dev.catena.core.client;
    exports dev.catena.core.server;
    exports dev.catena.core.protocol;
    exports dev.catena.core.chaos;
    exports dev.catena.core.directory;
    exports dev.catena.core.generation;
    uses dev.catena.api.spi.SpanBackendProvider;
    uses dev.catena.transport.spi.TransportProvider;
}

/**
 * Catena's runtime: finds span backends and transports through ServiceLoader only. Apps use the one
 * exported package, {@code dev.catena.core} (the facade and its request, result and error types); the
 * client, server, protocol and generation internals are not exported.
 */
module dev.catena.core {
    requires transitive dev.catena.api;
    requires transitive dev.catena.transport.spi;
    exports dev.catena.core;
    uses dev.catena.api.spi.SpanBackendProvider;
    uses dev.catena.transport.spi.TransportProvider;
}

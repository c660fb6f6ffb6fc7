/**
 * Catena's runtime: finds span backends, transports and directories through ServiceLoader only. Apps use the one
 * exported package, {@code dev.catena.core} (the facade and its request, result and error types); the
 * client, server, protocol and generation internals are not exported.
 */
module dev.catena.core {
    requires transitive dev.catena.api;
    requires transitive dev.catena.transport.spi;
    exports dev.catena.core;
    uses dev.catena.api.spi.SpanBackendProvider;
    uses dev.catena.transport.spi.TransportProvider;
    uses dev.catena.api.directory.DirectoryProvider;
    provides dev.catena.api.directory.DirectoryProvider with dev.catena.core.directory.EmbeddedDirectoryProviders.File,
            dev.catena.core.directory.EmbeddedDirectoryProviders.Static, dev.catena.core.directory.EmbeddedDirectoryProviders.Memory;
}

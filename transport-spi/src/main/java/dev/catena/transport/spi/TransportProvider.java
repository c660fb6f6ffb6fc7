package dev.catena.transport.spi;

import dev.catena.api.spi.Provider;

/** A transport implementation (Netty by default), found with {@link java.util.ServiceLoader}. */
public abstract class TransportProvider extends Provider {

    /** What the transport runs on here, e.g. {@code epoll} or {@code nio}; for diagnostics. */
    public abstract String implementation();

    /** A new transport instance with its own threads. */
    public abstract Transport create(TransportConfig config);
}

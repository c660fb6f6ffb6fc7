package dev.catena.transport.spi;

import dev.catena.api.spi.Provider;

/**
 * A transport implementation (Netty by default), found with {@link java.util.ServiceLoader}.
 * The step stream and the server-to-server pushes are added to this SPI with the swarm protocol.
 */
public abstract class TransportProvider extends Provider {

    /** What the transport runs on here, e.g. {@code epoll} or {@code nio}; for diagnostics. */
    public abstract String implementation();
}

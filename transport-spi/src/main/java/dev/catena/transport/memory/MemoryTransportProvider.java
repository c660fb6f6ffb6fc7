package dev.catena.transport.memory;

import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import dev.catena.transport.spi.TransportProvider;

import java.util.Optional;

/**
 * The in-process transport ({@code memory:NAME} addresses), for tests and for embedding several
 * nodes in one JVM. Priority 1, so that a network transport is preferred whenever one is present.
 */
public final class MemoryTransportProvider extends TransportProvider {

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public int priority() {
        return 1;
    }

    @Override
    public Optional<Throwable> unavailabilityCause() {
        return Optional.empty();
    }

    @Override
    public String implementation() {
        return "in-process";
    }

    @Override
    public Transport create(TransportConfig config) {
        if (config.tls() != null) {
            throw new IllegalArgumentException("the in-process transport has no TLS (nothing leaves the process); use the netty transport");
        }
        return new MemoryTransport(config);
    }
}

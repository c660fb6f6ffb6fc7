package dev.catena.core;

import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanBackendProvider;
import dev.catena.transport.spi.TransportProvider;

import java.util.List;
import java.util.ServiceLoader;

/** Entry point of the runtime: the span backends and transports on the path, and the one to use. */
public final class Catena {
    static final String BACKEND_ARTIFACT = "dev.catena:catena-ffm-backend";
    static final String TRANSPORT_ARTIFACT = "dev.catena:catena-transport-netty";

    private Catena() {
    }

    /** Every span backend provider found, preferred first. */
    public static List<SpanBackendProvider> spanBackendProviders() {
        return Providers.sorted(ServiceLoader.load(SpanBackendProvider.class));
    }

    /** Every transport provider found, preferred first. */
    public static List<TransportProvider> transportProviders() {
        return Providers.sorted(ServiceLoader.load(TransportProvider.class));
    }

    /**
     * The preferred usable span backend, or the one named.
     *
     * @param name a provider name such as {@code ffm}, or null for the preferred one
     * @throws dev.catena.api.BackendUnavailableException naming the dependency, flag or path that is missing
     */
    public static SpanBackend spanBackend(String name) {
        return Providers.select(spanBackendProviders(), name, "span backend", BACKEND_ARTIFACT).backend();
    }

    /** The preferred usable transport, or the one named. */
    public static TransportProvider transport(String name) {
        return Providers.select(transportProviders(), name, "transport", TRANSPORT_ARTIFACT);
    }
}

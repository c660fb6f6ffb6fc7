package dev.catena.core;

import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanBackendProvider;
import dev.catena.transport.spi.TransportProvider;

import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Entry point of Catena: generators in this process or over a swarm, servers, and the span
 * backends and transports found on the path.
 * <pre>{@code
 * Generator local = Catena.local(model).split("0:2,2:5").build();
 * CatenaClient client = Catena.client(model).peers("10.0.0.1:7001", "10.0.0.2:7001").mode(Mode.RELAY).build();
 * CatenaServer server = Catena.server(model).blocks(0, 8).listen("0.0.0.0", 7001).directory(uri).start();
 * LocalSwarm swarm = Catena.localSwarm(model).servers(3).replicas(1).start();
 * }</pre>
 */
public final class Catena {
    static final String BACKEND_ARTIFACT = "dev.catena:catena-ffm-backend";
    static final String TRANSPORT_ARTIFACT = "dev.catena:catena-transport-netty";

    private Catena() {
    }

    /** A generator running the whole model (a GGUF file) in this process. */
    public static LocalGenerator.Builder local(Path model) {
        return new LocalGenerator.Builder(model);
    }

    /** A client running the model's head here and its blocks on a swarm's servers. */
    public static CatenaClient.Builder client(Path model) {
        return new CatenaClient.Builder(model);
    }

    /** A server hosting blocks of the model for swarm clients. */
    public static CatenaServer.Builder server(Path model) {
        return new CatenaServer.Builder(model);
    }

    /** A swarm of servers in this process, splitting the model's blocks. */
    public static LocalSwarm.Builder localSwarm(Path model) {
        return new LocalSwarm.Builder(model);
    }

    /** Every span backend provider found, preferred first. */
    public static List<SpanBackendProvider> spanBackendProviders() {
        return Providers.sorted(ServiceLoader.load(SpanBackendProvider.class));
    }

    /** Every directory provider found (by URI scheme), preferred first. */
    public static List<dev.catena.api.directory.DirectoryProvider> directoryProviders() {
        return Directories.providers();
    }

    /**
     * Opens the directory a URI names, by scheme: {@code etcd://HOST:PORT,...} (with
     * {@code directory-etcd}), {@code static:HOST:PORT@A:B,...}, {@code mem:NAME}, or a {@code file:}
     * URI or plain path. The caller closes it (which withdraws what it announced).
     *
     * @throws IllegalArgumentException for an unknown scheme (the message lists the known ones) or a malformed URI
     * @throws dev.catena.api.directory.DirectoryException when it cannot be reached
     */
    public static dev.catena.api.directory.Directory directory(java.net.URI uri) {
        return Directories.open(uri);
    }

    /**
     * The id servers of {@code model} announce in directories and clients look them up by.
     */
    public static String modelId(Path model) {
        return dev.catena.core.client.SwarmInference.modelId(model);
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

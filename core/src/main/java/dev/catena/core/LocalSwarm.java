package dev.catena.core;

import dev.catena.api.BlockRange;
import dev.catena.core.client.SwarmInference;
import dev.catena.core.server.SwarmServer;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TlsConfig;
import dev.catena.transport.spi.TransportConfig;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A swarm in this process, for trying Catena out and for tests: servers on 127.0.0.1 (ephemeral
 * ports, the preferred transport) that split the model's blocks evenly, each span served by
 * {@code replicas} servers. Start one with {@link Catena#localSwarm(Path)}:
 * <pre>{@code
 * try (LocalSwarm swarm = Catena.localSwarm(model).servers(3).start(); CatenaClient client = swarm.client()) {
 *     Generation g = client.generate(GenerationRequest.builder("Once upon a time").greedy().build());
 * }
 * }</pre>
 */
public final class LocalSwarm implements AutoCloseable {
    private final Path model;
    private final Transport transport;
    private final List<CatenaServer> servers;
    private final Mode mode;
    private final WireFormat wire;
    private final int threads;
    private final Device device;
    private final java.net.URI directory;
    private final boolean tls;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private LocalSwarm(Builder b, Transport transport, List<CatenaServer> servers) {
        this.model = b.model;
        this.transport = transport;
        this.servers = List.copyOf(servers);
        this.mode = b.mode;
        this.wire = b.wire;
        this.threads = b.threads;
        this.device = b.device;
        this.directory = b.directory;
        this.tls = b.tls;
    }

    /** The servers' certificates (their identities), in the order of {@link #addresses()}. */
    public List<java.security.cert.X509Certificate> certificates() {
        return servers.stream().map(s -> s.identity().certificate()).toList();
    }

    /** The servers' {@code host:port}, span by span, replica after replica (stopped ones included). */
    public List<String> addresses() {
        return servers.stream().map(CatenaServer::address).toList();
    }

    /** The servers, in the order of {@link #addresses()}: their blocks, counters and sessions; {@code close()} stops one. */
    public List<CatenaServer> servers() {
        return servers;
    }

    /**
     * Stops the server at {@code address} (its sessions end; clients fail over to a replica).
     *
     * @throws IllegalArgumentException when no server of this swarm has that address
     */
    public void stop(String address) {
        servers.stream().filter(s -> s.address().equals(address)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no server of this swarm at " + address)).close();
    }

    /**
     * A client builder set for this swarm: its servers, mode, wire format, threads and device; change
     * anything before {@code build()}.
     */
    public CatenaClient.Builder clientBuilder() {
        var b = new CatenaClient.Builder(model).mode(mode).wire(wire).threads(threads).device(device);
        b = directory != null ? b.directory(directory) : b.peers(addresses());
        return tls ? b.tls(certificates()) : b;
    }

    /** A new client of this swarm, which the caller closes (before the swarm). */
    public CatenaClient client() {
        return clientBuilder().build();
    }

    /** Stops every server. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        try {
            servers.forEach(CatenaServer::close);
        } finally {
            transport.close();
        }
    }

    /** Builds and starts a {@link LocalSwarm}; every setting has a default. */
    public static final class Builder extends ModelBuilder<Builder> {
        private int servers = 3;
        private int replicas = 1;
        private Mode mode = Mode.PUSH;
        private WireFormat wire = WireFormat.F32;
        private long kvBudgetBytes = 1L << 30;
        private Duration idleTimeout = Duration.ofMinutes(5);
        private java.net.URI directory;
        private boolean tls;

        Builder(Path model) {
            super(model);
        }

        /**
         * TLS 1.3 on every connection: each server gets its own identity and transport, pushes between
         * servers are TLS too, and {@link #client()} trusts exactly these servers' certificates (default off).
         */
        public Builder tls(boolean on) {
            this.tls = on;
            return this;
        }

        /** Spans the blocks are split into, evenly (the remainder spread over the first ones; default 3). */
        public Builder servers(int spans) {
            if (spans < 1) throw new IllegalArgumentException("servers must be >= 1, got " + spans);
            this.servers = spans;
            return this;
        }

        /** Servers per span (default 1). */
        public Builder replicas(int replicas) {
            if (replicas < 1) throw new IllegalArgumentException("replicas must be >= 1, got " + replicas);
            this.replicas = replicas;
            return this;
        }

        /** The mode of the clients {@link #client()} builds (default PUSH). */
        public Builder mode(Mode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** The wire format of the clients {@link #client()} builds (default F32). */
        public Builder wire(WireFormat wire) {
            this.wire = Objects.requireNonNull(wire, "wire");
            return this;
        }

        /** KV cache memory per server (default 1 GiB). */
        public Builder kvBudget(long bytes) {
            if (bytes <= 0) throw new IllegalArgumentException("kvBudget must be positive, got " + bytes);
            this.kvBudgetBytes = bytes;
            return this;
        }

        /** Sessions idle this long are closed by their server (default 5 minutes). */
        public Builder idleTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("idleTimeout must be positive");
            this.idleTimeout = timeout;
            return this;
        }

        /**
         * Its servers announce themselves in this directory (withdrawn at stop), and its clients find
         * them there instead of being given their addresses (default: none).
         *
         * @throws IllegalArgumentException for an unknown scheme (the message lists the known ones) or a malformed URI
         */
        public Builder directory(java.net.URI directory) {
            Directories.check(directory);
            this.directory = directory;
            return this;
        }

        /**
         * Loads the spans and starts every server.
         *
         * @throws IllegalArgumentException when there are more spans than the model has blocks
         */
        public LocalSwarm start() {
            var backend = Catena.spanBackend(null);
            int nLayer = backend.inspect(model).nLayer();
            if (servers > nLayer) {
                throw new IllegalArgumentException("servers must be in [1, " + nLayer + "] for this model, got " + servers);
            }
            Transport transport = Catena.transport(null).create(TransportConfig.defaults());
            List<CatenaServer> started = new ArrayList<>();
            try {
                List<BlockRange> spans = BlockRange.even(nLayer, servers);
                for (int copy = 0; copy < replicas; copy++) {
                    for (BlockRange r : spans) {
                        java.util.function.Supplier<dev.catena.api.directory.Directory> dir =
                                () -> directory == null ? null : Directories.open(directory);
                        var config = new SwarmServer.Config(model, SwarmInference.modelId(model), r,
                                device.options(threads), "127.0.0.1:0", kvBudgetBytes, idleTimeout, 1);
                        if (tls) { // a certificate per server, so a transport per server; peers trusted by the keys clients name
                            Identity id = Identity.generate();
                            Transport own = Catena.transport(null).create(TransportConfig.defaults()
                                    .withTls(new TlsConfig(id.privateKey(), id.certificate(), List.of(), false)));
                            try {
                                started.add(CatenaServer.start(config, backend, own, id, true, dir.get()));
                            } catch (RuntimeException e) {
                                own.close();
                                throw e;
                            }
                        } else {
                            started.add(CatenaServer.start(config, backend, transport, dir.get()));
                        }
                    }
                }
                return new LocalSwarm(this, transport, started);
            } catch (RuntimeException e) {
                started.forEach(CatenaServer::close);
                transport.close();
                throw e;
            }
        }
    }
}

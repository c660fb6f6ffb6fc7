package dev.catena.core;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.SpanBackend;
import dev.catena.core.client.SwarmInference;
import dev.catena.api.directory.Directory;
import dev.catena.core.server.BlockSelection;
import dev.catena.core.server.SwarmServer;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TlsConfig;
import dev.catena.transport.spi.TransportConfig;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A Catena server: hosts blocks {@code [a, b)} of a model and serves clients' inference sessions on
 * them, pushing hidden states straight to the next server of each route. With a directory it
 * announces itself there, refreshes its record (throughput, free KV) periodically and withdraws at
 * close. Start one with {@link Catena#server(Path)}:
 * <pre>{@code
 * try (CatenaServer s = Catena.server(model).blocks(0, 8).listen("0.0.0.0", 7001).directory(uri).start()) { ... }
 * }</pre>
 */
public final class CatenaServer implements AutoCloseable {
    /** The current span's server, its directory record and, with --num-blocks, its moves. */
    private final Placement placement;
    private final Transport ownTransport;
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * Moving between spans: the backend and transport to open the new span with, the config to copy,
     * the model's block count, how often to check, and the hysteresis ({@link BlockSelection}).
     */
    record Rebalancing(SpanBackend spans, Transport transport, SwarmServer.Config config, int nLayer, Duration every,
                       double balanceQuality) {
    }

    private CatenaServer(SwarmServer server, Transport ownTransport, Directory directory, Duration announceEvery, Rebalancing rebalancing) {
        this.ownTransport = ownTransport;
        this.placement = new Placement(server, directory, announceEvery, rebalancing);
    }

    /**
     * Starts a server on {@code transport}, which the caller keeps (for {@link LocalSwarm}); it
     * announces itself in {@code directory} when one is given, and closes it at close.
     */
    static CatenaServer start(SwarmServer.Config config, SpanBackend backend, Transport transport, Directory directory) {
        try {
            return new CatenaServer(SwarmServer.start(config, backend, transport), null, directory, Duration.ofSeconds(5), null);
        } catch (RuntimeException e) {
            if (directory != null) directory.close();
            throw e;
        }
    }

    /**
     * Starts a server with {@code identity} on {@code transport}; with {@code ownTransport} it closes the transport at stop.
     * It announces itself in {@code directory} when one is given, and closes it at close.
     */
    static CatenaServer start(SwarmServer.Config config, SpanBackend backend, Transport transport, Identity identity, boolean ownTransport,
                              Directory directory) {
        try {
            return new CatenaServer(SwarmServer.start(config, backend, transport, identity), ownTransport ? transport : null, directory,
                    Duration.ofSeconds(5), null);
        } catch (RuntimeException e) {
            if (directory != null) directory.close();
            throw e;
        }
    }

    /** The identity this server signs its results and pushes with (and presents over TLS). */
    public Identity identity() {
        return placement.server().identity();
    }

    /** The {@code host:port} clients and peers connect to. */
    public String address() {
        return placement.server().address();
    }

    /** The blocks it hosts. */
    public BlockRange blocks() {
        return placement.server().blocks();
    }

    /** Inference sessions open now. */
    public int openSessions() {
        return placement.server().openSessions();
    }

    /** KV cache bytes the open sessions reserve. */
    public long kvBytesReserved() {
        return placement.server().kvBytesReserved();
    }

    /**
     * What it did so far, by name: {@code steps}, {@code pushes_sent}, {@code pushes_used},
     * {@code bytes_client_to_server}, {@code bytes_server_to_server}, ... (a snapshot, in a fixed order).
     */
    public Map<String, Long> counters() {
        return placement.server().counters().snapshot();
    }

    /** Whether it still serves (not closed). */
    public boolean isRunning() {
        return !placement.server().isClosed();
    }

    /** Bytes of partly received frames its connections hold now, bounded by the inbound budget. */
    public long inboundBytesBuffered() {
        return ownTransport == null ? 0 : ownTransport.inboundBytesBuffered();
    }

    /** Withdraws from the directory, stops listening, closes every session (freeing its KV) and the span. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        try {
            placement.close();
        } finally {
            if (ownTransport != null) ownTransport.close();
        }
    }

    @Override
    public String toString() {
        return "CatenaServer[" + address() + " " + blocks() + (isRunning() ? "" : ", stopped") + "]";
    }

    /** Builds and starts a {@link CatenaServer}; every setting has a default. */
    public static final class Builder extends ModelBuilder<Builder> {
        private BlockRange blocks;
        private int numBlocks;
        private Duration rebalanceEvery = Duration.ofSeconds(30);
        private double balanceQuality = BlockSelection.DEFAULT_BALANCE_QUALITY;
        private String host = "127.0.0.1";
        private int port;
        private URI directory;
        private long kvBudgetBytes = 1L << 30;
        private Duration idleTimeout = Duration.ofMinutes(5);
        private SwarmServer.Batching batching = SwarmServer.Batching.OFF;
        private Duration announceEvery = Duration.ofSeconds(5);
        private Duration leaseTtl = dev.catena.api.directory.DirectoryOptions.DEFAULT_LEASE_TTL;
        private String transport;
        private String backend;
        private long inboundBudgetBytes = TransportConfig.DEFAULT_INBOUND_BUDGET_BYTES;
        private Duration readTimeout = TransportConfig.DEFAULT_READ_TIMEOUT;
        private int maxConnections = 4096;
        private int maxConnectionsPerAddress = 64;
        private Identity identity;
        private boolean tls;
        private List<X509Certificate> trusted = List.of();
        private boolean requireClientCertificates;

        Builder(Path model) {
            super(model);
        }

        /** The identity the server signs with and presents over TLS (default: a fresh one, gone at stop). */
        public Builder identity(Identity identity) {
            this.identity = Objects.requireNonNull(identity, "identity");
            return this;
        }

        /** TLS 1.3 on every connection, accepted or made for pushes (default off: plain TCP). */
        public Builder tls(boolean on) {
            this.tls = on;
            return this;
        }

        /**
         * Certificates whose keys this server trusts: clients', with {@link #requireClientCertificates};
         * peers' when it pushes to them (besides the key each client says the peer has).
         */
        public Builder trust(List<X509Certificate> certificates) {
            this.trusted = List.copyOf(certificates);
            return this;
        }

        /**
         * Mutual TLS for a private swarm: only clients (and pushing peers) presenting a certificate whose
         * key is trusted complete the handshake. Needs {@link #tls} and {@link #trust}.
         */
        public Builder requireClientCertificates(boolean on) {
            this.requireClientCertificates = on;
            return this;
        }

        /** Hosts blocks {@code [start, end)} (default: every block of the model). */
        public Builder blocks(int start, int end) {
            this.blocks = new BlockRange(start, end);
            this.numBlocks = 0;
            return this;
        }

        /**
         * Hosts {@code n} blocks that it chooses itself from the directory's view of the swarm (the span
         * that most raises the weakest block's throughput), and moves when a move would raise it by
         * more than 1 / {@link #balanceQuality} (checked every {@link #rebalanceEvery}). Needs a directory.
         */
        public Builder numBlocks(int n) {
            if (n < 1) throw new IllegalArgumentException("numBlocks must be >= 1, got " + n);
            this.numBlocks = n;
            this.blocks = null;
            return this;
        }

        /** With {@link #numBlocks}: how often it checks whether to move (default 30 s, plus up to half of it at random). */
        public Builder rebalanceEvery(Duration every) {
            if (every.toMillis() < 1) throw new IllegalArgumentException("rebalanceEvery must be >= 1 ms, got " + every);
            this.rebalanceEvery = every;
            return this;
        }

        /**
         * With {@link #numBlocks}: it moves only when the weakest block's throughput now is below this
         * fraction of what it would be after the move (default 0.75, as Petals; 0 never moves).
         */
        public Builder balanceQuality(double quality) {
            if (!(quality >= 0 && quality <= 1)) throw new IllegalArgumentException("balanceQuality must be in [0, 1], got " + quality);
            this.balanceQuality = quality;
            return this;
        }

        /** Listens on {@code host:port}; port 0 takes any free one (default 127.0.0.1, any port). */
        public Builder listen(String host, int port) {
            if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
            this.host = Objects.requireNonNull(host, "host");
            this.port = port;
            return this;
        }

        /**
         * Announces the server in a directory, by URI scheme: {@code etcd://HOST:PORT,...} (with
         * {@code directory-etcd}; the record is on a lease, see {@link #leaseTtl}), {@code mem:NAME},
         * or a {@code file:} URI or plain path naming a directory file.
         *
         * @throws IllegalArgumentException for an unknown scheme (the message lists the known ones) or a malformed URI
         */
        public Builder directory(URI directory) {
            Directories.check(directory);
            this.directory = directory;
            return this;
        }

        /** Announces the server in a directory file. */
        public Builder directory(Path file) {
            return directory(file.toUri());
        }

        /** KV cache memory all sessions together may reserve; sessions beyond it are refused (default 1 GiB). */
        public Builder kvBudget(long bytes) {
            if (bytes <= 0) throw new IllegalArgumentException("kvBudget must be positive, got " + bytes);
            this.kvBudgetBytes = bytes;
            return this;
        }

        /**
         * Bytes of partly received frames all connections together may hold (default 256 MiB); past
         * it the connection holding the most is closed. At least the largest frame (64 MiB).
         */
        public Builder inboundBudget(long bytes) {
            if (bytes < TransportConfig.DEFAULT_MAX_FRAME_BYTES + 4L) {
                throw new IllegalArgumentException("inboundBudget must be >= " + (TransportConfig.DEFAULT_MAX_FRAME_BYTES + 4L)
                        + " bytes (one maximal frame), got " + bytes);
            }
            this.inboundBudgetBytes = bytes;
            return this;
        }

        /** A connection must send its Hello, and each frame whole, within this (default 10 s). */
        public Builder readTimeout(Duration timeout) {
            if (timeout.toMillis() < 1) throw new IllegalArgumentException("readTimeout must be >= 1 ms, got " + timeout);
            this.readTimeout = timeout;
            return this;
        }

        /** Connections open at once, in total and from one remote host (defaults 4096 and 64; 0: no cap). */
        public Builder connectionCaps(int total, int perAddress) {
            if (total < 0 || perAddress < 0) {
                throw new IllegalArgumentException("connection caps must be >= 0, got " + total + " and " + perAddress);
            }
            this.maxConnections = total;
            this.maxConnectionsPerAddress = perAddress;
            return this;
        }

        /**
         * Continuous batching: the decode steps of up to {@code maxBatch} sessions that are ready run as
         * one step (one pass over the weights for all of them); a batch not yet full waits up to
         * {@code wait} for more (zero: a lone session's step starts at once). Default 1: off.
         */
        public Builder batching(int maxBatch, Duration wait) {
            this.batching = new SwarmServer.Batching(maxBatch, wait);
            return this;
        }

        /** As {@link #batching(int, Duration)}; a batch takes waiting prefills along up to {@code prefillRows} rows (0: alone; default 256). */
        public Builder batching(int maxBatch, Duration wait, int prefillRows) {
            this.batching = new SwarmServer.Batching(maxBatch, wait, prefillRows);
            return this;
        }

        /** Sessions with no step for this long are closed and their KV freed (default 5 minutes). */
        public Builder idleTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("idleTimeout must be positive");
            this.idleTimeout = timeout;
            return this;
        }

        /** How often the directory record is refreshed (default 5 s). */
        public Builder announceEvery(Duration every) {
            if (every.toMillis() < 1) throw new IllegalArgumentException("announceEvery must be >= 1 ms, got " + every);
            this.announceEvery = every;
            return this;
        }

        /**
         * How long the directory keeps this server's record after the process dies (default 10 s):
         * the record is on a lease with this TTL, kept alive while the server runs.
         */
        public Builder leaseTtl(Duration ttl) {
            this.leaseTtl = new dev.catena.api.directory.DirectoryOptions(ttl).leaseTtl();
            return this;
        }

        /** The transport by name, e.g. {@code netty} (default: the preferred one available). */
        public Builder transport(String name) {
            this.transport = name;
            return this;
        }

        /** The span backend by name (default: the preferred one available). */
        public Builder backend(String name) {
            this.backend = name;
            return this;
        }

        /**
         * Loads the blocks, starts listening and announces the server.
         *
         * @throws dev.catena.api.SpanInputException when the blocks are not within the model
         */
        public CatenaServer start() {
            var spans = Catena.spanBackend(backend);
            int nLayer = spans.inspect(model).nLayer();
            if (numBlocks > 0 && directory == null) throw new IllegalStateException("numBlocks needs a directory(...) to choose from");
            if (numBlocks > nLayer) throw new IllegalArgumentException("numBlocks " + numBlocks + " > the model's " + nLayer + " blocks");
            Directory dir = directory == null ? null : Directories.open(directory, new dev.catena.api.directory.DirectoryOptions(leaseTtl));
            String modelId = SwarmInference.modelId(model);
            BlockRange range;
            try {
                range = numBlocks > 0 ? BlockSelection.choose(dir.servers(modelId), nLayer, numBlocks, "")
                        : blocks == null ? new BlockRange(0, nLayer) : blocks;
            } catch (RuntimeException e) {
                dir.close();
                throw e;
            }
            var config = new SwarmServer.Config(model, modelId, range, device.options(threads), host + ":" + port,
                    kvBudgetBytes, idleTimeout, threads).withBatching(batching);
            if (requireClientCertificates && !tls) {
                throw new IllegalArgumentException("requiring client certificates needs TLS");
            }
            Identity id = identity != null ? identity : Identity.generate();
            TlsConfig tlsConfig = tls ? new TlsConfig(id.privateKey(), id.certificate(), trusted, requireClientCertificates) : null;
            Transport t = Catena.transport(transport).create(TransportConfig.defaults().withInboundBudgetBytes(inboundBudgetBytes)
                    .withTimeouts(readTimeout, readTimeout).withConnectionCaps(maxConnections, maxConnectionsPerAddress)
                    .withTls(tlsConfig));
            SwarmServer server = null;
            try {
                server = SwarmServer.start(config, spans, t, id);
                var rebalancing = numBlocks > 0 ? new Rebalancing(spans, t, config, nLayer, rebalanceEvery, balanceQuality) : null;
                return new CatenaServer(server, t, dir, announceEvery, rebalancing);
            } catch (RuntimeException e) {
                if (server != null) server.close();
                t.close();
                if (dir != null) dir.close();
                throw e;
            }
        }
    }
}

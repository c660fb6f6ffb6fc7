package dev.catena.core.server;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.Span;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.directory.ServerRecord;
import dev.catena.core.model.ModelIdentity;
import dev.catena.core.Identity;
import dev.catena.transport.proto.SignedStatement;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A Catena server: hosts one span of one model and serves inference sessions on it over a
 * transport, with PROTOCOL.md's direct pushes to the next server of each session's route. It
 * owns the span and the lifecycle; the work is in {@link SessionTable} (admission, executors, idle
 * sweep), {@link PeerLinks} (connections for pushes) and {@link FrameDispatcher} (the protocol).
 */
public final class SwarmServer implements AutoCloseable {
    /**
     * @param kvBudgetBytes KV cache bytes all sessions together may reserve
     * @param idleTimeout   sessions with no step for this long are closed and their KV freed
     * @param peerAddresses how this server reaches a peer that clients name by an address (identity by
     *                      default; e.g. a LAN address for a peer clients reach over the internet, or a
     *                      test's per-link proxy)
     */
    public record Config(Path model, String modelId, BlockRange blocks, SpanOptions spanOptions, String bindAddress,
                         long kvBudgetBytes, Duration idleTimeout, int computeThreads,
                         java.util.function.UnaryOperator<String> peerAddresses, Batching batching) {
        public Config {
            if (kvBudgetBytes <= 0) throw new IllegalArgumentException("kvBudgetBytes must be positive");
            if (computeThreads < 1) throw new IllegalArgumentException("computeThreads must be >= 1");
            if (peerAddresses == null) peerAddresses = java.util.function.UnaryOperator.identity();
            if (batching == null) batching = Batching.OFF;
        }

        public Config(Path model, String modelId, BlockRange blocks, SpanOptions spanOptions, String bindAddress,
                      long kvBudgetBytes, Duration idleTimeout, int computeThreads,
                      java.util.function.UnaryOperator<String> peerAddresses) {
            this(model, modelId, blocks, spanOptions, bindAddress, kvBudgetBytes, idleTimeout, computeThreads, peerAddresses, null);
        }

        /** The same configuration with these batching settings. */
        public Config withBatching(Batching batching) {
            return new Config(model, modelId, blocks, spanOptions, bindAddress, kvBudgetBytes, idleTimeout, computeThreads,
                    peerAddresses, batching);
        }

        public Config(Path model, String modelId, BlockRange blocks, SpanOptions spanOptions, String bindAddress,
                      long kvBudgetBytes, Duration idleTimeout, int computeThreads) {
            this(model, modelId, blocks, spanOptions, bindAddress, kvBudgetBytes, idleTimeout, computeThreads, null);
        }
    }

    /**
     * Continuous batching: the decode steps of up to {@code maxBatch} sessions that are ready run as
     * one step of the span ({@code Span.forwardBatch}); a batch not yet full waits up to {@code maxWait}
     * for more (zero: no added latency for a lone session); a batch takes waiting prefills along while
     * their rows stay within {@code maxPrefillRows} (0: prefills run alone). {@code maxBatch} 1 turns batching off:
     * each session's step runs on its own, on {@code computeThreads} threads.
     */
    public record Batching(int maxBatch, Duration maxWait, int maxPrefillRows) {
        public static final Batching OFF = new Batching(1, Duration.ZERO);
        /** Prefill rows a batch of decode steps may take along by default. */
        public static final int DEFAULT_PREFILL_ROWS = 256;

        public Batching {
            if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
            if (maxWait == null || maxWait.isNegative()) throw new IllegalArgumentException("the batch wait must be zero or more, got " + maxWait);
            if (maxPrefillRows < 0) throw new IllegalArgumentException("maxPrefillRows must be >= 0, got " + maxPrefillRows);
        }

        public Batching(int maxBatch, Duration maxWait) {
            this(maxBatch, maxWait, DEFAULT_PREFILL_ROWS);
        }

        public boolean enabled() {
            return maxBatch > 1;
        }
    }

    private final Config config;
    private final Span span;
    private final StepBatcher batcher; // null unless batching
    private final Listener listener;
    private final ServerCounters counters = new ServerCounters();
    private final InconsistentPushes inconsistent = new InconsistentPushes();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final SessionTable sessions;
    private final PeerLinks peers;
    private final String weightsDigest;
    private final Identity identity;

    private final RingHead ringHead;

    private SwarmServer(Config config, SpanBackend backend, Span span, Transport transport, Identity identity) {
        this.config = config;
        this.ringHead = new RingHead(backend, config.model(), config.spanOptions());
        this.span = span;
        this.weightsDigest = weightsDigest(config);
        this.identity = identity;
        this.batcher = config.batching().enabled()
                ? new StepBatcher(span, config.batching().maxBatch(), config.batching().maxWait(), config.batching().maxPrefillRows(),
                        counters) : null;
        // Batching: a session's thread mostly waits for its batch, so there is one per active session, not computeThreads.
        this.sessions = new SessionTable(config.kvBudgetBytes(), config.idleTimeout(), config.computeThreads(), batcher != null,
                closed::get);
        this.peers = new PeerLinks(transport, config.peerAddresses(), this::address, identity.publicKey(), closed::get, counters);
        try {
            this.listener = transport.listen(config.bindAddress(),
                    new FrameDispatcher(config.modelId(), modelName(), weightsDigest, config.blocks(), span, sessions, peers,
                            new ServerHost(this::address, counters, batcher, peers, identity, ringHead, inconsistent)));
        } catch (RuntimeException e) {
            sessions.close(); // its compute and sweeper threads
            if (batcher != null) batcher.close();
            throw e;
        }
    }

    /** Loads the span and starts listening, with a fresh (ephemeral) identity. */
    public static SwarmServer start(Config config, SpanBackend backend, Transport transport) {
        return start(config, backend, transport, Identity.generate());
    }

    /** Loads the span and starts listening; {@code identity} signs every result and push. */
    public static SwarmServer start(Config config, SpanBackend backend, Transport transport, Identity identity) {
        java.util.Objects.requireNonNull(identity, "identity");
        Span span = backend.openSpan(config.model(), config.blocks().start(), config.blocks().end(), config.spanOptions());
        try {
            return new SwarmServer(config, backend, span, transport, identity);
        } catch (RuntimeException e) {
            span.close();
            throw e;
        }
    }

    /**
     * The span's weights digest ({@link ModelIdentity#weightsDigest}), computed once at load (and
     * cached across runs); empty when the model file is not one this server can hash.
     */
    private static String weightsDigest(Config config) {
        try {
            return ModelIdentity.of(config.model()).weightsDigest(config.blocks());
        } catch (dev.catena.api.ModelFormatException | java.io.UncheckedIOException e) {
            return "";
        }
    }

    private String modelName() {
        return config.model().getFileName().toString();
    }

    /** SHA-256 of the tensor bytes of its blocks, hex; empty when unknown. */
    public String weightsDigest() {
        return weightsDigest;
    }

    /** The address clients and peers connect to. */
    public String address() {
        return listener.address();
    }

    public boolean isClosed() {
        return closed.get();
    }

    public BlockRange blocks() {
        return config.blocks();
    }

    public ServerCounters counters() {
        return counters;
    }

    public int openSessions() {
        return sessions.size();
    }

    /** Ids of the sessions open now, for tests and diagnostics. */
    public java.util.List<byte[]> sessionIds() {
        return sessions.ids();
    }

    public long kvBytesReserved() {
        return sessions.kvBytesReserved();
    }

    /**
     * What this server announces in a directory now: its span, the steps per second its compute has
     * sustained so far (0 before the first step), the KV tokens it could still admit for a session
     * on the whole span, and whether it is still serving; it names this server's key and is signed by it.
     */
    public ServerRecord record() {
        long steps = counters.steps.get();
        long nanos = counters.computeNanos.get();
        double throughput = steps == 0 || nanos == 0 ? 0 : steps * 1e9 / nanos;
        long bytesPerToken = Math.max(1, span.kvBytesFor(SessionOptions.of(1)));
        long freeTokens = Math.max(0, config.kvBudgetBytes() - kvBytesReserved()) / bytesPerToken;
        var record = new ServerRecord(address(), config.modelId(), modelName(), config.blocks(), throughput,
                freeTokens, closed.get() ? ServerRecord.State.OFFLINE : ServerRecord.State.ONLINE, weightsDigest, "", "");
        return dev.catena.core.security.RecordSignatures.sign(record, identity.publicKey(), identity.privateKey());
    }

    /** The identity this server signs with. */
    public Identity identity() {
        return identity;
    }

    /** Signed pushes that proved different from the clients' copies of the same inputs (the latest 64). */
    public java.util.List<SignedStatement> evidence() {
        return inconsistent.evidence();
    }

    /** Senders whose pushes differed from the clients' copies, with how often. */
    public Map<String, Long> inconsistentSenders() {
        return inconsistent.senders();
    }

    /** Stops listening, closes every session (freeing its KV), then the span. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        listener.close();
        sessions.close();
        if (batcher != null) batcher.close();
        peers.close();
        span.close();
        ringHead.close();
    }
}

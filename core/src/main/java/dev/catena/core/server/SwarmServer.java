package dev.catena.core.server;

import com.google.protobuf.ByteString;
import dev.catena.api.BlockRange;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.Span;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.directory.ServerRecord;
import dev.catena.core.protocol.Protocol;
import dev.catena.core.protocol.Tensors;
import dev.catena.transport.proto.DType;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.ErrorCode;
import dev.catena.transport.proto.InputSource;
import dev.catena.transport.proto.OpenSession;
import dev.catena.transport.proto.ServerInfo;
import dev.catena.transport.proto.SessionClosed;
import dev.catena.transport.proto.SessionOpened;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A Catena server: hosts one span of one model and serves inference sessions on it over a
 * transport, with PROTOCOL.md's direct pushes to the next server of each session's route.
 */
public final class SwarmServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SwarmServer.class.getName());

    /**
     * @param kvBudgetBytes KV cache bytes all sessions together may reserve
     * @param idleTimeout   sessions with no step for this long are closed and their KV freed
     */
    /**
     * @param peerAddresses how this server reaches a peer that clients name by an address (identity by
     *                      default; e.g. a LAN address for a peer clients reach over the internet, or a
     *                      test's per-link proxy)
     */
    public record Config(Path model, String modelId, BlockRange blocks, SpanOptions spanOptions, String bindAddress,
                         long kvBudgetBytes, Duration idleTimeout, int computeThreads,
                         java.util.function.UnaryOperator<String> peerAddresses) {
        public Config {
            if (kvBudgetBytes <= 0) throw new IllegalArgumentException("kvBudgetBytes must be positive");
            if (computeThreads < 1) throw new IllegalArgumentException("computeThreads must be >= 1");
            if (peerAddresses == null) peerAddresses = java.util.function.UnaryOperator.identity();
        }

        public Config(Path model, String modelId, BlockRange blocks, SpanOptions spanOptions, String bindAddress,
                      long kvBudgetBytes, Duration idleTimeout, int computeThreads) {
            this(model, modelId, blocks, spanOptions, bindAddress, kvBudgetBytes, idleTimeout, computeThreads, null);
        }
    }

    private final Config config;
    private final Span span;
    private final int nEmbd;
    private final Transport transport;
    private final Listener listener;
    private final ServerCounters counters = new ServerCounters();
    private final Map<String, ServerSession> sessions = new ConcurrentHashMap<>();
    private final Map<String, SerialExecutor> executors = new ConcurrentHashMap<>();
    private final Map<String, Connection> peers = new ConcurrentHashMap<>();
    /** Peers being connected to or that failed recently: address -> nanoTime before which not to try again. */
    private final Map<String, Long> connecting = new ConcurrentHashMap<>();
    /** The latest push for each peer still being connected to. */
    private final Map<String, Frame> pendingPushes = new ConcurrentHashMap<>();
    private static final Duration PEER_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration PEER_RETRY = Duration.ofMillis(500);
    private final Map<String, AtomicLong> inconsistent = new ConcurrentHashMap<>();
    private final ExecutorService compute;
    private final ScheduledExecutorService sweeper;
    private final SecureRandom random = new SecureRandom();
    private final AtomicBoolean closed = new AtomicBoolean();
    private long kvReserved; // guarded by this

    private SwarmServer(Config config, Span span, Transport transport) {
        this.config = config;
        this.span = span;
        this.nEmbd = span.model().nEmbd();
        this.transport = transport;
        this.compute = Executors.newFixedThreadPool(config.computeThreads(), Thread.ofPlatform().daemon().name("catena-compute-", 0).factory());
        this.sweeper = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("catena-sweeper").factory());
        this.listener = transport.listen(config.bindAddress(), new Handler());
        long period = Math.max(50, config.idleTimeout().toMillis() / 4);
        sweeper.scheduleAtFixedRate(this::closeIdleSessions, period, period, TimeUnit.MILLISECONDS);
    }

    /** Loads the span and starts listening. */
    public static SwarmServer start(Config config, SpanBackend backend, Transport transport) {
        Span span = backend.openSpan(config.model(), config.blocks().start(), config.blocks().end(), config.spanOptions());
        try {
            return new SwarmServer(config, span, transport);
        } catch (RuntimeException e) {
            span.close();
            throw e;
        }
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
        return sessions.values().stream().map(s -> s.id.clone()).toList();
    }

    public synchronized long kvBytesReserved() {
        return kvReserved;
    }

    /**
     * What this server announces in a directory now: its span, the steps per second its compute has
     * sustained so far (0 before the first step), the KV tokens it could still admit for a session
     * on the whole span, and whether it is still serving.
     */
    public ServerRecord record() {
        long steps = counters.steps.get();
        long nanos = counters.computeNanos.get();
        double throughput = steps == 0 || nanos == 0 ? 0 : steps * 1e9 / nanos;
        long bytesPerToken = Math.max(1, span.kvBytesFor(SessionOptions.of(1)));
        long freeTokens = Math.max(0, config.kvBudgetBytes() - kvBytesReserved()) / bytesPerToken;
        return new ServerRecord(address(), config.modelId(), config.blocks(), throughput, freeTokens,
                closed.get() ? ServerRecord.State.OFFLINE : ServerRecord.State.ONLINE);
    }

    /** Senders whose pushes differed from the clients' copies, with how often. */
    public Map<String, Long> inconsistentSenders() {
        Map<String, Long> m = new java.util.TreeMap<>();
        inconsistent.forEach((k, v) -> m.put(k, v.get()));
        return m;
    }

    void recordInconsistent(String sender) {
        inconsistent.computeIfAbsent(sender == null || sender.isEmpty() ? "(unknown)" : sender, k -> new AtomicLong())
                .incrementAndGet();
    }

    /** Fire-and-forget to a peer; a peer that cannot be reached loses the push (the client's copy follows). */
    void push(String named, Frame frame) {
        String address = config.peerAddresses().apply(named);
        Connection c = peers.get(address);
        if (c == null || !c.isOpen()) {
            // Never connect on the compute thread: a peer slow to accept would stall this server's steps
            // (and get it blamed by the client). The push waits for the connection, the latest one only;
            // if it never comes, the client's own copy stands in.
            if (pendingPushes.put(address, frame) != null) counters.pushesDropped.incrementAndGet();
            connectToPeer(named);
            return;
        }
        send(c, frame);
    }

    private void send(Connection peer, Frame push) {
        counters.pushesSent.incrementAndGet();
        counters.bytesToPeers.addAndGet(push.wireBytes());
        peer.send(push);
    }

    /**
     * Starts connecting to a peer in the background unless connected or already trying; after a
     * failure the next try waits {@link #PEER_RETRY}. Called when a session names its next server, so
     * that the connection is usually up by the first push.
     */
    void connectToPeer(String named) {
        String address = config.peerAddresses().apply(named);
        Connection open = peers.get(address);
        if (open != null && open.isOpen()) {
            sendPending(address, open); // a push queued just as the connection came up
            return;
        }
        if (closed.get()) {
            return;
        }
        long now = System.nanoTime();
        connecting.compute(address, (a, retryAfter) -> {
            if (retryAfter != null && retryAfter - now > 0) {
                return retryAfter; // connecting now, or failed recently
            }
            Thread.ofVirtual().name("catena-peer-connect").start(() -> {
                try {
                    Connection c = transport.connect(a, Protocol.IGNORE_REPLIES, PEER_CONNECT_TIMEOUT);
                    c.send(Protocol.hello(address()));
                    peers.put(a, c);
                    if (closed.get()) c.close();
                    connecting.remove(a);
                    sendPending(a, c);
                } catch (RuntimeException unreachable) {
                    LOG.log(System.Logger.Level.DEBUG, "cannot connect to peer {0}: {1}", a, unreachable.getMessage());
                    connecting.put(a, System.nanoTime() + PEER_RETRY.toNanos());
                    if (pendingPushes.remove(a) != null) counters.pushesDropped.incrementAndGet();
                }
            });
            return now + PEER_CONNECT_TIMEOUT.toNanos() + PEER_RETRY.toNanos(); // until the try ends
        });
    }

    private void sendPending(String address, Connection peer) {
        Frame waiting = pendingPushes.remove(address);
        if (waiting != null) send(peer, waiting);
    }

    private void closeIdleSessions() {
        long limit = System.nanoTime() - config.idleTimeout().toNanos();
        for (ServerSession s : sessions.values()) {
            if (s.lastActivityNanos < limit) {
                LOG.log(System.Logger.Level.INFO, "closing idle session {0}", s.idHex);
                closeSession(s.idHex);
            }
        }
    }

    /** Closes a session after any step already queued for it; completes when its KV is freed. */
    private java.util.concurrent.CompletableFuture<Void> closeSession(String idHex) {
        ServerSession s = sessions.remove(idHex);
        SerialExecutor ex = executors.remove(idHex);
        var done = new java.util.concurrent.CompletableFuture<Void>();
        if (s == null) {
            done.complete(null);
            return done;
        }
        Runnable close = () -> {
            long bytes = s.kvBytes();
            try {
                s.close();
            } finally {
                synchronized (this) {
                    kvReserved -= bytes;
                }
                done.complete(null);
            }
        };
        if (ex != null && !compute.isShutdown()) ex.execute(close);
        else close.run();
        return done;
    }

    private final class Handler implements FrameHandler {
        @Override
        public void onFrame(Connection from, Frame frame) {
            Envelope e = frame.header();
            if (e.getBodyCase() != Envelope.BodyCase.PUSH) {
                counters.bytesFromClients.addAndGet(frame.wireBytes());
            }
            try {
                switch (e.getBodyCase()) {
                    case HELLO -> from.send(e.getHello().getProtocolVersion() == Protocol.VERSION
                            ? Frame.of(Envelope.newBuilder().setRequestId(e.getRequestId()).setHelloAck(Protocol.helloAck(address())).build())
                            : Protocol.error(e.getRequestId(), ErrorCode.UNSUPPORTED_VERSION, "this server speaks protocol version "
                              + Protocol.VERSION + ", not " + e.getHello().getProtocolVersion()));
                    case OPEN -> open(from, e.getRequestId(), e.getOpen());
                    case STEP -> step(from, e, frame.payload());
                    case PUSH -> push(e, frame.payload());
                    case CLOSE -> closeSession(HexFormat.of().formatHex(e.getClose().getSessionId().toByteArray()))
                            .thenRun(() -> from.send(Frame.of(Envelope.newBuilder().setRequestId(e.getRequestId())
                                    .setClosed(SessionClosed.newBuilder().setSessionId(e.getClose().getSessionId())).build())));
                    case INFO -> from.send(Frame.of(Envelope.newBuilder().setRequestId(e.getRequestId()).setServerInfo(info()).build()));
                    default -> reject(from, e.getRequestId(), ErrorCode.BAD_REQUEST, "unexpected message " + e.getBodyCase());
                }
            } catch (RuntimeException bad) {
                reject(from, e.getRequestId(), ErrorCode.INTERNAL, bad.toString());
            }
        }

        @Override
        public void onClose(Connection connection, Throwable cause) {
            // Results could no longer reach that client: free its sessions now, not at the idle timeout.
            sessions.forEach((id, s) -> {
                if (s.isClient(connection)) closeSession(id);
            });
            peers.values().remove(connection);
        }
    }

    private void reject(Connection to, long requestId, ErrorCode code, String message) {
        counters.errors.incrementAndGet();
        to.send(Protocol.error(requestId, code, message));
    }

    private void open(Connection from, long requestId, OpenSession o) {
        BlockRange blocks = config.blocks();
        if (!o.getModelId().equals(config.modelId())) {
            reject(from, requestId, ErrorCode.WRONG_SPAN, "this server serves model '" + config.modelId() + "', not '" + o.getModelId() + "'");
            return;
        }
        // Any non-empty part of the span will do: a route may use part of a server's span.
        if (o.getStart() < blocks.start() || o.getEnd() > blocks.end() || o.getStart() >= o.getEnd()) {
            reject(from, requestId, ErrorCode.WRONG_SPAN, "this server hosts blocks [" + blocks.start() + ", " + blocks.end()
                    + "); [" + o.getStart() + ", " + o.getEnd() + ") is not a non-empty part of them");
            return;
        }
        if (o.getMaxLength() < 1 || o.getMaxLength() > 1 << 20) {
            reject(from, requestId, ErrorCode.BAD_REQUEST, "max_length must be in [1, 1048576], got " + Integer.toUnsignedString(o.getMaxLength()));
            return;
        }
        DType dtype = o.getWireDtype() == DType.DTYPE_UNSPECIFIED ? DType.F32 : o.getWireDtype();
        if (dtype == DType.UNRECOGNIZED) {
            reject(from, requestId, ErrorCode.BAD_REQUEST, "unknown wire dtype");
            return;
        }
        SessionOptions options = SessionOptions.of(o.getMaxLength()).withBlocks(new BlockRange(o.getStart(), o.getEnd()));
        long needed = span.kvBytesFor(options);
        synchronized (this) {
            if (closed.get()) {
                reject(from, requestId, ErrorCode.INTERNAL, "server is closing");
                return;
            }
            if (kvReserved + needed > config.kvBudgetBytes()) {
                reject(from, requestId, ErrorCode.OUT_OF_MEMORY, "a session of " + o.getMaxLength() + " tokens needs " + needed
                        + " bytes of KV cache; " + (config.kvBudgetBytes() - kvReserved) + " of " + config.kvBudgetBytes() + " are free");
                return;
            }
            kvReserved += needed;
        }
        ServerSession s;
        byte[] id = new byte[16];
        random.nextBytes(id);
        try {
            var spanSession = span.openSession(options);
            s = new ServerSession(id, spanSession, nEmbd, dtype, o.getLastOnly(), from, o.getNext(), this);
            synchronized (this) {
                kvReserved += spanSession.kvBytes() - needed; // account what was really allocated
            }
        } catch (RuntimeException e) {
            synchronized (this) {
                kvReserved -= needed;
            }
            reject(from, requestId, ErrorCode.OUT_OF_MEMORY, "cannot allocate the KV cache: " + e.getMessage());
            return;
        }
        sessions.put(s.idHex, s);
        executors.put(s.idHex, new SerialExecutor(compute));
        counters.sessionsOpened.incrementAndGet();
        from.send(Frame.of(Envelope.newBuilder().setRequestId(requestId).setOpened(SessionOpened.newBuilder()
                .setSessionId(ByteString.copyFrom(id)).setLength(0).setKvBytes(s.kvBytes())).build()));
    }

    private void step(Connection from, Envelope e, ByteBuffer payload) {
        var st = e.getStep();
        String idHex = HexFormat.of().formatHex(st.getSessionId().toByteArray());
        ServerSession s = sessions.get(idHex);
        SerialExecutor ex = executors.get(idHex);
        if (s == null || ex == null || !s.isClient(from)) {
            reject(from, e.getRequestId(), ErrorCode.UNKNOWN_SESSION, "no session " + idHex + " on this connection");
            return;
        }
        counters.clientSteps.incrementAndGet();
        var in = new ServerSession.Input(st.getStep(), st.getPosition(), st.getHidden(), Tensors.copy(payload), InputSource.CLIENT,
                "", e.getRequestId(), st.getDigest().toByteArray());
        ex.execute(() -> {
            s.setNext(st.hasNext() ? st.getNext() : null, st.getClearNext());
            s.onClientStep(in);
        });
    }

    private void push(Envelope e, ByteBuffer payload) {
        var p = e.getPush();
        String idHex = HexFormat.of().formatHex(p.getSessionId().toByteArray());
        ServerSession s = sessions.get(idHex);
        SerialExecutor ex = executors.get(idHex);
        if (s == null || ex == null) {
            counters.pushesReceived.incrementAndGet();
            counters.pushesDropped.incrementAndGet(); // unknown or closed session: never an error to anyone
            return;
        }
        var in = new ServerSession.Input(p.getStep(), p.getPosition(), p.getHidden(), Tensors.copy(payload), InputSource.PUSH,
                p.getSender(), 0, p.getDigest().toByteArray());
        ex.execute(() -> s.onPush(in));
    }

    /** Payloads are only valid during the transport's callback. */

    private ServerInfo info() {
        long reserved = kvBytesReserved();
        return ServerInfo.newBuilder().setModelId(config.modelId()).setStart(config.blocks().start()).setEnd(config.blocks().end())
                .setKvBytesTotal(config.kvBudgetBytes()).setKvBytesFree(config.kvBudgetBytes() - reserved)
                .putAllCounters(counters.snapshot()).build();
    }

    /** Stops listening, closes every session (freeing its KV), then the span. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        listener.close();
        sweeper.shutdownNow();
        for (String id : sessions.keySet()) {
            closeSession(id);
        }
        compute.shutdown();
        try {
            if (!compute.awaitTermination(30, TimeUnit.SECONDS)) {
                LOG.log(System.Logger.Level.WARNING, "compute threads still busy after 30 s");
            }
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
        peers.values().forEach(Connection::close);
        span.close();
    }
}

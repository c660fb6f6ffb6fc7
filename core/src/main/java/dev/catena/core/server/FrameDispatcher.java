package dev.catena.core.server;

import com.google.protobuf.ByteString;
import dev.catena.api.BlockRange;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.Span;
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

import dev.catena.transport.sign.Statements;
import dev.catena.transport.spi.TlsConfig;

import java.nio.ByteBuffer;
import java.security.PublicKey;
import java.util.Map;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A server's side of PROTOCOL.md: answers each frame from a client or peer, validating requests and
 * handing steps and pushes to their session's executor. Payloads are only valid during the
 * transport's callback, so they are copied before a step is queued.
 */
final class FrameDispatcher implements FrameHandler {
    /** Before Hello: room for a Hello and little more, so an unknown peer cannot make us buffer. */
    static final long PRE_HELLO_FRAME_BYTES = 4 << 10;
    /** Control messages (Open, Close, Info) and a step's header. */
    static final long CONTROL_FRAME_BYTES = 64 << 10;

    private final String modelId;
    private final String modelName;
    private final String weightsDigest;
    private final BlockRange blocks;
    private final Span span;
    private final int nEmbd;
    private final SessionTable sessions;
    private final PeerLinks peers;
    private final SessionHost host;
    private final ServerCounters counters;
    private final SecureRandom random = new SecureRandom();
    /** Connections whose Hello was answered. */
    private final Set<Connection> greeted = ConcurrentHashMap.newKeySet();
    private final OpenRefusals refusals;
    /** The key each peer connection announced in its Hello (its TLS certificate's, over TLS): pushes on it must be signed by it. */
    private final Map<Connection, PublicKey> peerKeys = new ConcurrentHashMap<>();

    FrameDispatcher(String modelId, String modelName, String weightsDigest, BlockRange blocks, Span span, SessionTable sessions,
                    PeerLinks peers, SessionHost host) {
        this.modelId = modelId;
        this.modelName = modelName;
        this.weightsDigest = weightsDigest;
        this.blocks = blocks;
        this.span = span;
        this.nEmbd = span.model().nEmbd();
        this.sessions = sessions;
        this.peers = peers;
        this.host = host;
        this.counters = host.counters();
        this.refusals = new OpenRefusals(counters);
    }

    @Override
    public void onFrame(Connection from, Frame frame) {
        long arrived = System.nanoTime(); // a step's turnaround starts here
        Envelope e = frame.header();
        if (e.getBodyCase() != Envelope.BodyCase.PUSH && e.getBodyCase() != Envelope.BodyCase.PUSH_SIGNATURE) {
            counters.bytesFromClients.addAndGet(frame.wireBytes());
        }
        if (e.getBodyCase() != Envelope.BodyCase.HELLO && !greeted.contains(from)) {
            // Nothing is served before the handshake: a peer that skips it is no honest client (issue 14).
            reject(from, e.getRequestId(), ErrorCode.BAD_REQUEST, "a " + e.getBodyCase() + " before Hello: send Hello first; closing");
            from.close();
            return;
        }
        if (refusals.ignores(from)) return; // a flooding client, waiting for its refusal: nothing more is served
        try {
            switch (e.getBodyCase()) {
                case HELLO -> hello(from, e);
                case OPEN -> open(from, e.getRequestId(), e.getOpen());
                case STEP -> step(from, e, frame.payload(), arrived);
                case PUSH -> push(from, e, frame.payload(), arrived);
                case PUSH_SIGNATURE -> {
                    var ps = e.getPushSignature();
                    SessionTable.Entry entry = sessions.get(hex(ps.getSessionId()));
                    // Only from peers (connections that announced a key); not through the session's executor: it may be awaiting this.
                    if (entry != null && peerKeys.containsKey(from)) entry.session().onPushSignature(ps);
                }
                case RING_TOKEN -> {
                    SessionTable.Entry entry = sessions.get(hex(e.getRingToken().getSessionId()));
                    // Only from peers (connections that announced a key), like pushes; the client verifies every token after the fact.
                    if (entry == null || !peerKeys.containsKey(from)) counters.pushesDropped.incrementAndGet();
                    else InlineSteps.run(entry, () -> entry.session().onRingToken(e.getRingToken(), arrived), () -> true);
                }
                case RING_ACK -> {
                    SessionTable.Entry entry = sessions.get(hex(e.getRingAck().getSessionId()));
                    if (entry != null && entry.session().isClient(from)) {
                        int verified = e.getRingAck().getVerified();
                        Runnable ack = () -> entry.session().onRingAck(verified);
                        // An ack that only moves the window runs here when the session is idle: no compute thread woken
                        // for it, none kept busy when the next token comes. One that frees a parked step is queued.
                        InlineSteps.control(entry, ack, () -> !entry.session().hasParkedStep());
                    }
                }
                case CLOSE -> sessions.close(hex(e.getClose().getSessionId()))
                        .thenRun(() -> from.send(Frame.of(Envelope.newBuilder().setRequestId(e.getRequestId())
                                .setClosed(SessionClosed.newBuilder().setSessionId(e.getClose().getSessionId())).build())));
                case INFO -> from.send(Frame.of(Envelope.newBuilder().setRequestId(e.getRequestId()).setServerInfo(info()).build()));
                default -> reject(from, e.getRequestId(), ErrorCode.BAD_REQUEST, "unexpected message " + e.getBodyCase());
            }
        } catch (RuntimeException bad) {
            reject(from, e.getRequestId(), ErrorCode.INTERNAL, bad.toString());
        }
    }

    /**
     * PROTOCOL.md's resource bounds, at the length prefix: a few KiB before Hello; after it control
     * size, or the largest step or push an open session can take. The transport cannot tell which
     * session a frame names before reading it, so a push from a peer (which owns no session here) is
     * bounded by the largest session; {@link #step} and {@link #push} then check the session named.
     */
    @Override
    public long maxInboundFrameBytes(Connection connection) {
        if (!greeted.contains(connection)) {
            return PRE_HELLO_FRAME_BYTES;
        }
        return Math.max(CONTROL_FRAME_BYTES, sessions.largestFrameBytes());
    }

    /** The largest frame a step or push of {@code maxLength} tokens can be, in the wire type. */
    private long maxFrameBytes(int maxLength, DType dtype) {
        return CONTROL_FRAME_BYTES + (long) maxLength * nEmbd * Tensors.elementBytes(dtype);
    }

    private void hello(Connection from, Envelope e) {
        if (e.getHello().getProtocolVersion() != Protocol.VERSION) {
            from.send(Protocol.error(e.getRequestId(), ErrorCode.UNSUPPORTED_VERSION, "this server speaks protocol version "
                    + Protocol.VERSION + ", not " + e.getHello().getProtocolVersion()));
            return;
        }
        var hello = e.getHello();
        PublicKey tlsKey = from.peerKey();
        if (!hello.getPublicKey().isEmpty()) { // a peer that will push: its pushes must be signed by this key
            PublicKey announced;
            try {
                announced = Statements.publicKey(hello.getPublicKey().toByteArray());
            } catch (IllegalArgumentException bad) {
                reject(from, e.getRequestId(), ErrorCode.BAD_REQUEST, "Hello: " + bad.getMessage());
                from.close();
                return;
            }
            if (tlsKey != null && !TlsConfig.sameKey(tlsKey, announced)) {
                reject(from, e.getRequestId(), ErrorCode.BAD_REQUEST, "Hello announced key " + Statements.fingerprint(announced)
                        + " but the TLS certificate has key " + Statements.fingerprint(tlsKey));
                from.close();
                return;
            }
            peerKeys.put(from, announced);
        } else if (tlsKey != null) {
            peerKeys.put(from, tlsKey);
        }
        if (hello.getNonce().size() > 64) {
            reject(from, e.getRequestId(), ErrorCode.BAD_REQUEST, "Hello: a nonce is at most 64 bytes");
            return;
        }
        if (from.isOpen()) {
            greeted.add(from); // removed in onClose, which comes after this
        }
        var ack = Protocol.helloAck(host.address()).toBuilder()
                .setPublicKey(ByteString.copyFrom(host.publicKey().getEncoded()));
        if (!hello.getNonce().isEmpty()) {
            ack.setNonceSignature(ByteString.copyFrom(Statements.sign(host.signingKey(), Statements.hello(hello.getNonce().toByteArray()))));
        }
        from.send(Frame.of(Envelope.newBuilder().setRequestId(e.getRequestId()).setHelloAck(ack).build()));
    }

    @Override
    public void onClose(Connection connection, Throwable cause) {
        greeted.remove(connection);
        refusals.forget(connection);
        peerKeys.remove(connection);
        // Results could no longer reach that client: free its sessions now, not at the idle timeout.
        sessions.closeSessionsOf(connection);
        peers.onClose(connection);
    }

    private void reject(Connection to, long requestId, ErrorCode code, String message) {
        counters.errors.incrementAndGet();
        to.send(Protocol.error(requestId, code, message));
    }

    private void open(Connection from, long requestId, OpenSession o) {
        if (!o.getModelId().equals(modelId)) {
            reject(from, requestId, ErrorCode.WRONG_SPAN, "this server serves model " + modelName + " (id " + modelId
                    + "), not the model with id " + o.getModelId());
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
        RingState ring;
        try {
            ring = RingState.of(o.hasRing() ? o.getRing() : null, host::ringHead);
        } catch (IllegalArgumentException | UnsupportedOperationException | dev.catena.api.CatenaException bad) {
            reject(from, requestId, ErrorCode.BAD_REQUEST, "ring: " + bad.getMessage());
            return;
        }
        byte[] id = new byte[16];
        ServerSession s;
        try {
            s = sessions.admit(from, span.kvBytesFor(options), o.getMaxLength(), maxFrameBytes(o.getMaxLength(), dtype), () -> {
                random.nextBytes(id);
                return new ServerSession(id, span.openSession(options), nEmbd, dtype, o.getLastOnly(), from, o.getNext(), host, ring);
            });
        } catch (SessionRefused refused) {
            if (ring != null) ring.close();
            refusals.refuse(from, requestId, refused);
            return;
        }
        counters.sessionsOpened.incrementAndGet();
        from.send(Frame.of(Envelope.newBuilder().setRequestId(requestId).setOpened(SessionOpened.newBuilder()
                .setSessionId(ByteString.copyFrom(id)).setLength(0).setKvBytes(s.kvBytes())).build()));
    }

    private void step(Connection from, Envelope e, ByteBuffer payload, long arrived) {
        var st = e.getStep();
        String idHex = hex(st.getSessionId());
        SessionTable.Entry entry = sessions.get(idHex);
        if (entry == null || !entry.session().isClient(from)) {
            reject(from, e.getRequestId(), ErrorCode.UNKNOWN_SESSION, "no session " + idHex + " on this connection");
            return;
        }
        if (frameLength(e, payload) > entry.maxFrameBytes()) {
            reject(from, e.getRequestId(), ErrorCode.BAD_REQUEST, "a step of " + frameLength(e, payload)
                    + " bytes does not fit session " + idHex + " (at most " + entry.maxFrameBytes() + ")");
            return;
        }
        ServerSession s = entry.session();
        sessions.stepped(s);
        counters.clientSteps.incrementAndGet();
        var in = new StepInput(st.getStep(), st.getPosition(), st.getHidden(), Tensors.copy(payload), InputSource.CLIENT,
                "", e.getRequestId(), st.getDigest().toByteArray());
        in.receivedNanos = arrived;
        InlineSteps.run(entry, () -> {
            s.setNext(st.hasNext() ? st.getNext() : null, st.getClearNext());
            s.onClientStep(in);
        }, () -> InlineSteps.oneRow(st.getHidden()) && s.isNewStep(st.getStep()));
    }

    private void push(Connection from, Envelope e, ByteBuffer payload, long arrived) {
        var p = e.getPush();
        String idHex = hex(p.getSessionId());
        SessionTable.Entry entry = sessions.get(idHex);
        if (entry == null || frameLength(e, payload) > entry.maxFrameBytes()) {
            counters.pushesReceived.incrementAndGet();
            counters.pushesDropped.incrementAndGet(); // unknown or closed session, or too big for it: never an error to anyone
            return;
        }
        // The signature is checked on the session's thread (ServerSession.onPush), not on the event loop.
        var in = new StepInput(p.getStep(), p.getPosition(), p.getHidden(), Tensors.copy(payload), InputSource.PUSH,
                p.getSender(), 0, p.getDigest().toByteArray(), p, peerKeys.get(from));
        in.receivedNanos = arrived;
        ServerSession s = entry.session();
        sessions.stepped(s);
        InlineSteps.run(entry, () -> s.onPush(in), () -> InlineSteps.oneRow(p.getHidden()) && s.isNewStep(p.getStep()));
    }

    private static long frameLength(Envelope header, ByteBuffer payload) {
        return new Frame(header, payload).frameLength();
    }

    private ServerInfo info() {
        long budget = sessions.kvBudgetBytes();
        return ServerInfo.newBuilder().setModelId(modelId).setModelName(modelName).setWeightsDigest(weightsDigest)
                .setComputeKind(span.computeKind()).setStart(blocks.start()).setEnd(blocks.end())
                .setKvBytesTotal(budget).setKvBytesFree(budget - sessions.kvBytesReserved())
                .putAllCounters(counters.snapshot()).putCounters("sessions_open", sessions.size()).build();
    }

    /** A session id as the session table names it. */
    private static String hex(com.google.protobuf.ByteString sessionId) {
        return HexFormat.of().formatHex(sessionId.toByteArray());
    }
}

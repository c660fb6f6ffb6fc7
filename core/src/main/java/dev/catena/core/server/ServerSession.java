package dev.catena.core.server;

import dev.catena.api.SpanInputException;
import dev.catena.api.spi.SpanSession;
import dev.catena.core.protocol.Tensors;
import dev.catena.transport.proto.DType;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.ErrorCode;
import dev.catena.transport.proto.InputSource;
import dev.catena.transport.proto.PeerRef;
import dev.catena.transport.proto.Push;
import dev.catena.transport.proto.PushSignature;
import dev.catena.transport.proto.RingToken;
import dev.catena.transport.proto.TensorMeta;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;

import dev.catena.transport.proto.SignedStatement;
import dev.catena.transport.sign.Statements;

import java.nio.ByteBuffer;
import java.security.PublicKey;
import java.util.Arrays;

/**
 * One inference session on a server: PROTOCOL.md's step, push, validation and correction rules.
 * Every method runs on the session's serial executor, so the state needs no locks.
 */
final class ServerSession {
    final byte[] id;
    final String idHex;
    private final SpanSession span;
    private final int nEmbd;
    private final DType wireDtype;
    private final boolean lastOnly;
    private final Connection client;
    private final SessionHost host;
    private final ServerCounters counters;
    private final RememberedSteps done = new RememberedSteps();
    private PeerRef next;
    private final PushSignatures pushSignatures = new PushSignatures();
    private long lastStep = -1;
    private long clientSteps;
    private long pushesSent;
    volatile long lastActivityNanos = System.nanoTime();
    /** A step or a push named this session (set when it arrives, before it is queued). */
    volatile boolean used;
    /** When a step of this session last made its client known to the open allowances ({@link SessionTable#stepped}). */
    volatile long clientKnownSinceNanos;
    /** Decode steps up to this compute (forward and head) may run on the transport's thread ({@link #runsInline}). */
    static final long INLINE_COMPUTE_NANOS = 3_000_000;
    /** The last decode step's compute; none yet: as if long. */
    private volatile long lastDecodeComputeNanos = Long.MAX_VALUE;

    /** Ring mode: this session's part in the ring (null outside one). */
    private final ServerRing ring;

    ServerSession(byte[] id, SpanSession span, int nEmbd, DType wireDtype, boolean lastOnly, Connection client,
                  PeerRef next, SessionHost host, RingState ring) {
        this.ring = ring == null ? null : new ServerRing(ring, id, nEmbd, wireDtype, host);
        this.lastOnly = lastOnly;
        this.id = id;
        this.idHex = java.util.HexFormat.of().formatHex(id);
        this.span = span;
        this.nEmbd = nEmbd;
        this.wireDtype = wireDtype;
        this.client = client;
        this.host = host;
        setNext(next, false);
        this.counters = host.counters();
    }

    /**
     * Whether this session's next input may run on the thread that received it, when the session is
     * idle: its decode steps are cheap (so the transport's thread is not held long), and the server
     * allows it. Saves the hand-off to a compute thread, a wake-up on the hop's critical path.
     */
    boolean runsInline() {
        return lastDecodeComputeNanos <= INLINE_COMPUTE_NANOS && host.stepsInline();
    }

    /**
     * Whether {@code step} is after the last one computed: the path that never waits for a push's trailing
     * signature (which the transport's thread would have to read). Only while no task of this session runs.
     */
    boolean isNewStep(long step) {
        return step > lastStep;
    }

    boolean isClient(Connection c) {
        return client == c;
    }

    Connection client() {
        return client;
    }

    long kvBytes() {
        return span.kvBytes();
    }

    void setNext(PeerRef peer, boolean clear) {
        if (clear) {
            next = null;
        } else if (peer != null && !peer.getAddress().isEmpty()) {
            boolean changed = next == null || !next.getAddress().equals(peer.getAddress()) || !next.getSessionId().equals(peer.getSessionId());
            next = peer;
            PublicKey key = null;
            try {
                if (!peer.getPublicKey().isEmpty()) key = Statements.publicKey(peer.getPublicKey().toByteArray());
            } catch (IllegalArgumentException notAKey) {
                // then only a trusted certificate will do over TLS; plain TCP checks no key here
            }
            host.connectToPeer(peer.getAddress(), key);
            if (changed && ring != null) ring.nextChanged(next, lastStep);
        }
    }

    /** The client's own copy of a step's input: the source of truth. */
    void onClientStep(StepInput in) {
        lastActivityNanos = System.nanoTime();
        clientSteps++;
        if (!in.intact()) {
            replyError(in.requestId(), ErrorCode.BAD_REQUEST, "step " + in.step() + ": payload damaged in transit (digest mismatch)");
            return;
        }
        if (ring != null) ring.clientStep(in); // the client's own copy: the truth, and where the window starts again
        RememberedSteps.Done previous = done.get(in.step());
        if (previous != null && in.step() <= lastStep) {
            if (Arrays.equals(previous.digest(), in.digest())) {
                counters.lateClientCopies.incrementAndGet(); // the push was right; the client has our answer
                return;
            }
            // The pushed input we computed on differs from the client's: recompute from the truth, and hand
            // the client the signed push, which with the sender's signed result is a proof against it.
            counters.mismatched.incrementAndGet();
            host.recordInconsistent(previous.sender());
            SignedStatement evidence = previous.input().push != null && signedBySender(previous.input()) ? previous.input().evidence() : null;
            if (evidence != null) host.recordEvidence(evidence);
            lastStep = in.step() - 1;
            done.forgetFrom(in.step());
            compute(in, true, evidence);
            return;
        }
        if (in.step() <= lastStep && done.olderThanAll(in.step())) {
            // A copy older than every step remembered: its push was computed on long since, and the client checked
            // that input's digest in the result. Too late to compare; not an error (CI saw one 8 steps late).
            counters.lateClientCopies.incrementAndGet();
            return;
        }
        if (in.step() <= lastStep) {
            replyError(in.requestId(), ErrorCode.BAD_REQUEST, "step " + in.step() + " is not after the last step " + lastStep);
            return;
        }
        compute(in, false);
    }

    /** A push from the upstream server; used if it is the next step's input, else dropped or checked. */
    void onPush(StepInput in) {
        counters.pushesReceived.incrementAndGet();
        push(in);
    }

    private void push(StepInput in) {
        if (!in.intact()) {
            counters.pushesDropped.incrementAndGet(); // damaged in transit: the client's copy will do
            return;
        }
        if (in.step() <= lastStep) {
            RememberedSteps.Done d = done.get(in.step());
            if (d != null && d.source() == InputSource.CLIENT && Arrays.equals(d.digest(), in.digest())) {
                counters.pushesLate.incrementAndGet(); // the client's copy won the race: normal, nothing to do
                return;
            }
            counters.pushesDropped.incrementAndGet(); // a stale step
            // Only a push that contradicts the client's copy of its step can become evidence, so only then is its
            // trailing signature awaited: waiting (up to 1 s) for every stale push's signature let a backlog of
            // late pushes stall the session for minutes, in series (bench spot-checks, 1 run in 5).
            if (d == null || d.source() != InputSource.CLIENT || d.position() != in.position()) return;
            if (!signedBySender(in)) return;
            counters.mismatched.incrementAndGet(); // and not what the client says that step's input was
            host.recordInconsistent(in.sender());
            host.recordEvidence(in.evidence());
            return;
        }
        if (in.position() != span.length()) {
            counters.pushesDropped.incrementAndGet(); // only the client may rewind or skip
            return;
        }
        if (ring != null && ring.parks(in)) return; // past the window: runs when the client has verified more
        // Used at once, its signature unchecked: the client's digest chain decides validity, and the signature
        // matters only if the push proves inconsistent (evidence), so it is verified then. An Ed25519 verify
        // costs about as much as a small span's step.
        pushSignatures.forgetBefore(in.step() - RememberedSteps.KEPT);
        compute(in, false);
    }

    /** Whether a push is signed by its sender (waiting for its trailing signature if need be); counted when not. */
    private boolean signedBySender(StepInput in) {
        if (pushSignatures.signedBySender(in)) return true;
        counters.pushesBadSignature.incrementAndGet();
        return false;
    }

    /**
     * Ring mode, the first session: a token the last server sampled after this session's last step;
     * embedded and run as the next step, pushed on down the route. Stale, misplaced or unasked-for
     * tokens are dropped (the client verifies every step and rewinds what is wrong).
     */
    void onRingToken(RingToken t, long arrived) {
        counters.ringTokensReceived.incrementAndGet();
        ringToken(t, arrived);
    }

    private void ringToken(RingToken t, long arrived) {
        StepInput in = ring == null ? null : ring.input(t, lastStep, span.length(), arrived);
        if (in != null) compute(in, false);
        else if (ring == null) counters.pushesDropped.incrementAndGet();
    }

    /** Ring mode: whether a ring token or push waits for an ack (read only while no task of this session runs). */
    boolean hasParkedStep() {
        return ring != null && ring.hasParked();
    }

    /** Ring mode: the client verified every position below {@code verified}; a parked step may run now. */
    void onRingAck(int verified) {
        lastActivityNanos = System.nanoTime();
        if (ring == null) return;
        RingToken t = ring.ack(verified, span.length());
        if (t != null) ringToken(t, System.nanoTime()); // its wait for the client's ack is no turnaround
        StepInput p = ring.releasedPush();
        if (p != null) {
            p.receivedNanos = System.nanoTime();
            push(p);
        }
    }

    /** A push's trailing signature, from the transport's thread. */
    void onPushSignature(PushSignature ps) {
        pushSignatures.arrived(ps);
    }

    private void compute(StepInput in, boolean corrected) {
        compute(in, corrected, null);
    }

    private void compute(StepInput in, boolean corrected, SignedStatement evidence) {
        float[] hidden;
        try {
            hidden = Tensors.decode(in.bytes(), in.meta(), nEmbd);
        } catch (IllegalArgumentException bad) {
            refuse(in, bad.getMessage());
            return;
        }
        int n = in.meta().getShape(0);
        if (in.position() > span.length()) {
            replyError(in.requestId(), ErrorCode.POSITION_GAP, "position " + in.position() + " is past the session's length "
                    + span.length() + "; re-send from " + span.length());
            return;
        }
        float[] out;
        long computeStarted = System.nanoTime();
        counters.inputWait.record(computeStarted - in.receivedNanos);
        try {
            out = host.forward(span, hidden, n, in.position(), lastOnly);
        } catch (SpanInputException bad) {
            refuse(in, bad.getMessage());
            return;
        }
        long computeNanos = System.nanoTime() - computeStarted;
        if (in.source() == InputSource.PUSH) counters.pushesUsed.incrementAndGet(); // computed on before the client's copy came
        counters.steps.incrementAndGet();
        if (corrected) {
            counters.corrected.incrementAndGet();
        }
        byte[] digest = in.digest();
        lastStep = in.step();
        done.put(in.step(), new RememberedSteps.Done(in.position(), digest, in.source(), in.sender(), in));
        ByteBuffer payload = Tensors.encode(out, wireDtype);
        byte[] outputDigest = Tensors.digest(payload);
        TensorMeta outMeta = Tensors.meta(wireDtype, out.length / nEmbd, nEmbd);
        // Push first: the next server's input is on the critical path, the client's copy is not.
        int ringToken = -1;
        com.google.protobuf.ByteString ringSignature = null;
        com.google.protobuf.ByteString pushedTo = com.google.protobuf.ByteString.EMPTY;
        String pushedToAddress = null;
        boolean sentOn = false;
        if (ring != null && ring.samples()) {
            ServerRing.Sampled sampled = ring.sample(out, in, n, digest, outputDigest);
            counters.computeNanos.addAndGet(sampled.headNanos()); // the head is this server's compute too
            computeNanos += sampled.headNanos();
            if (n == 1) lastDecodeComputeNanos = computeNanos;
            ringToken = sampled.token();
            if (sampled.signed() != null) {
                ringSignature = sampled.signed().getSignature();
                sentOn = ring.send(sampled.signed(), next);
                if (sentOn) recordTurnaround(in, computeNanos);
            }
        } else {
            if (n == 1) lastDecodeComputeNanos = computeNanos;
            sentOn = pushToNext(in, outMeta, payload, digest, outputDigest, computeNanos);
            if (sentOn) {
                pushedTo = next.getSessionId();
                pushedToAddress = next.getAddress();
            }
        }
        var result = StepMessages.result(id, in, span.length(), outMeta, digest, corrected, outputDigest, pushedTo);
        if (ringToken >= 0) result.setRingToken(ringToken);
        if (ringSignature != null) result.setSignature(ringSignature);
        if (evidence != null) StepMessages.withEvidence(result, in, evidence);
        client.send(new Frame(Envelope.newBuilder().setRequestId(in.source() == InputSource.CLIENT ? in.requestId() : 0)
                .setResult(result).build(), payload.duplicate()));
        if (!sentOn) recordTurnaround(in, computeNanos); // the route's end: its result is its output
        if (ringSignature != null) return; // signed already
        // One signature for the result and the push: both state the same step statement.
        StepSigner.step(host, client, id, pushedToAddress, pushedTo, in.step(), in.position(), digest, outputDigest,
                ringToken >= 0 ? ringToken : dev.catena.transport.sign.Statements.NO_TOKEN);
    }

    /** From the input's arrival to now, less the step's compute: what this server added to the chain. */
    private void recordTurnaround(StepInput in, long computeNanos) {
        counters.turnaround.record(System.nanoTime() - in.receivedNanos - computeNanos);
    }

    /**
     * At most one push per client step received, plus one in flight: pushes never amplify the client's bytes.
     * Whether it pushed (its signature follows with the result's: {@link StepSigner}).
     */
    private boolean pushToNext(StepInput in, TensorMeta meta, ByteBuffer payload, byte[] inputDigest, byte[] outputDigest,
                               long computeNanos) {
        if (next == null) {
            return false;
        }
        if (ring == null && pushesSent >= clientSteps + 1) { // a ring's pushes are bounded by its window instead
            counters.pushesSuppressed.incrementAndGet();
            return false;
        }
        pushesSent++;
        Push push = StepMessages.push(next.getSessionId(), in, meta, host.address(), inputDigest, outputDigest, id);
        String to = next.getAddress();
        host.push(to, new Frame(Envelope.newBuilder().setPush(push).build(), payload.duplicate()));
        recordTurnaround(in, computeNanos); // the push is out: its signature follows with the result's
        return true;
    }

    /** Bad input: a push is dropped (the client's copy will come), a client's step is answered with the reason. */
    private void refuse(StepInput in, String reason) {
        if (in.source() == InputSource.PUSH) {
            counters.pushesDropped.incrementAndGet();
        } else {
            replyError(in.requestId(), ErrorCode.BAD_REQUEST, reason);
        }
    }

    private void replyError(long requestId, ErrorCode code, String message) {
        counters.errors.incrementAndGet();
        var error = dev.catena.transport.proto.Error.newBuilder().setCode(code).setMessage(message)
                .setLength(span.length()).setSessionId(com.google.protobuf.ByteString.copyFrom(id));
        client.send(Frame.of(Envelope.newBuilder().setRequestId(requestId).setError(error).build()));
    }

    void close() {
        span.close();
        if (ring != null) ring.close();
    }
}

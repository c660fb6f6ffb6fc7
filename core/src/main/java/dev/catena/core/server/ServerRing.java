package dev.catena.core.server;

import com.google.protobuf.ByteString;
import dev.catena.core.protocol.Tensors;
import dev.catena.transport.proto.DType;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.InputSource;
import dev.catena.transport.proto.PeerRef;
import dev.catena.transport.proto.RingToken;
import dev.catena.transport.sign.Statements;
import dev.catena.transport.spi.Frame;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A server session's part in a ring (README's ring mode): the first session embeds the tokens the last
 * one sampled, the last samples and signs them, and both hold back what runs past the client's window
 * until an ack makes room. Its owner's {@link ServerSession} calls it on the session's executor only.
 */
final class ServerRing {
    private final RingState state;
    private final byte[] sessionId;
    private final int nEmbd;
    private final DType wireDtype;
    private final SessionHost host;
    private final ServerCounters counters;
    /** A push or ring token past the window, run when an ack makes room (the latest only). */
    private StepInput parkedPush;
    private RingToken parkedToken;
    /**
     * The last session: the token of the last step, so that a first session named after it was sampled
     * (at the ring's start, or a replacement) gets it too.
     */
    private RingToken lastToken;

    /** What the last session sampled after a step: its token, the token signed to go out (null: none), the head's time. */
    record Sampled(int token, RingToken signed, long headNanos) {
    }

    ServerRing(RingState state, byte[] sessionId, int nEmbd, DType wireDtype, SessionHost host) {
        this.state = state;
        this.sessionId = sessionId;
        this.nEmbd = nEmbd;
        this.wireDtype = wireDtype;
        this.host = host;
        this.counters = host.counters();
    }

    boolean samples() {
        return state.samples();
    }

    /** The client's own step (the truth): the window starts again there, and what was parked is dropped. */
    void clientStep(StepInput in) {
        state.clientStep(in.position(), in.position() + (in.meta().getShapeCount() > 0 ? in.meta().getShape(0) : 0));
        parkedPush = null;
        parkedToken = null;
    }

    /** Parks {@code push} when it runs past the window; whether it did. */
    boolean parks(StepInput push) {
        if (state.allows(push.position())) return false;
        parkedPush = push;
        return true;
    }

    /**
     * The first session: the step input {@code t} becomes, embedded; null when it is stale, misplaced or
     * not a token (dropped: the client verifies every step and rewinds what is wrong) or past the window (parked).
     */
    StepInput input(RingToken t, long lastStep, int length, long arrived) {
        if (!state.embeds() || t.getStep() != lastStep || t.getPosition() != length) {
            counters.pushesDropped.incrementAndGet();
            return null;
        }
        if (!state.allows(t.getPosition())) {
            parkedToken = t;
            return null;
        }
        float[] hidden;
        try {
            hidden = state.embed(t.getToken());
        } catch (IllegalArgumentException bad) {
            counters.pushesDropped.incrementAndGet();
            return null;
        }
        ByteBuffer bytes = Tensors.encode(hidden, wireDtype);
        var in = new StepInput(lastStep + 1, t.getPosition(), Tensors.meta(wireDtype, 1, nEmbd), bytes, InputSource.RING,
                t.getSender(), 0, new byte[0]);
        in.ringInput = t.toBuilder().clearSessionId().build(); // handed to the client, signed: evidence if the last server lied
        in.receivedNanos = arrived;
        return in;
    }

    /** Whether a ring token or push waits for an ack. */
    boolean hasParked() {
        return parkedToken != null || parkedPush != null;
    }

    /** The client verified every position below {@code verified}: the parked token, if it may run now (then forgotten). */
    RingToken ack(int verified, int length) {
        state.ack(verified, length);
        if (parkedToken == null || !state.allows(parkedToken.getPosition())) return null;
        RingToken t = parkedToken;
        parkedToken = null;
        return t;
    }

    /** After an ack: the parked push, if it may run now (then forgotten). */
    StepInput releasedPush() {
        if (parkedPush == null || !state.allows(parkedPush.position())) return null;
        StepInput p = parkedPush;
        parkedPush = null;
        return p;
    }

    /**
     * The last session: samples after step {@code in} from the last of {@code out}'s rows. A token that goes
     * out is signed before it leaves, once for the token and the step's result (inline in both): the first
     * server hands it on to the client with its next result, where it is evidence against this server if it lied.
     */
    Sampled sample(float[] out, StepInput in, int n, byte[] inputDigest, byte[] outputDigest) {
        int rows = out.length / nEmbd;
        long headStarted = System.nanoTime();
        int[] sampled = state.sample(Arrays.copyOfRange(out, (rows - 1) * nEmbd, rows * nEmbd), in.position(), n);
        long headNanos = System.nanoTime() - headStarted;
        lastToken = null;
        if (sampled[1] != 1) return new Sampled(sampled[0], null, headNanos);
        var t = RingToken.newBuilder().setStep(in.step()).setPosition(in.position() + n).setToken(sampled[0])
                .setStepPosition(in.position()).setInputDigest(ByteString.copyFrom(inputDigest))
                .setOutputDigest(ByteString.copyFrom(outputDigest)).setOriginSessionId(ByteString.copyFrom(sessionId));
        lastToken = t.setSignature(ByteString.copyFrom(Statements.sign(host.signingKey(), Statements.step(t.build())))).build();
        return new Sampled(sampled[0], lastToken, headNanos);
    }

    /** The last session: {@code t} to the first session ({@code next}, the route's next of the last); false while none is named. */
    boolean send(RingToken t, PeerRef next) {
        if (next == null) return false; // sent when the client names the first session
        counters.ringTokensSent.incrementAndGet();
        host.push(next.getAddress(), Frame.of(Envelope.newBuilder().setRingToken(t.toBuilder()
                .setSessionId(next.getSessionId()).setSender(host.address())).build()));
        return true;
    }

    /** The route's next changed to {@code next}: it gets the last step's token, if one was sampled. */
    void nextChanged(PeerRef next, long lastStep) {
        if (lastToken != null && lastToken.getStep() == lastStep) send(lastToken, next);
    }

    void close() {
        state.close();
    }
}

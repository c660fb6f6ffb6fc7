package dev.catena.core.client;

import com.google.protobuf.ByteString;
import dev.catena.core.SwarmException;
import dev.catena.core.protocol.Tensors;
import dev.catena.transport.proto.DType;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.StepResult;
import dev.catena.transport.spi.TransportException;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Ring mode's part of a {@link RemoteSession}: the steps the servers ran on their own, verified by
 * the client after the fact (README, "Ring mode"), the token the last server chose, and rewinds when
 * a ring step disagrees or stalls. The session owns the route, its events and its step counter; this
 * class reads them through {@link Session} and owns only the ring's own state. Not thread-safe: the
 * session's thread only (its counters may be read by status readers).
 */
final class RingVerifier {

    /** What the ring reads and writes of its session's state, which the session keeps. */
    interface Session {
        /** The session's last step number. */
        long step();

        /** The servers ran the ring up to step {@code s}: the session's step counter moves there if it is behind. */
        void stepAtLeast(long s);

        /** A result of the second or a later hop was accepted. */
        void hopStepAccepted();
    }

    /** The session's log: the ring is part of its session. */
    private static final System.Logger LOG = System.getLogger(RemoteSession.class.getName());
    /** Ring steps that did not come within the step timeout; at this many the session goes on in push mode. */
    static final int MAX_RING_STALLS = 2;
    /** How long a rewind waits for the first server's next ring step, to prove a lying last server. */
    private static final long RING_PROOF_WAIT_NANOS = 500_000_000L;

    private final Session session;
    /** The session's route and its events (both owned by the session). */
    private final List<HopSession> hops;
    private final BlockingQueue<RemoteSession.Event> events;
    private final ClientCounters counters;
    private final ResultSignatures signatures;
    private final UpstreamProofs proofs;
    private final DType wireDtype;
    private final Duration stepTimeout;

    /** The generation's sampling, or null when the ring is off (push mode then). */
    private RingSpec spec;
    /** The results of the ring's steps that came before the client asked for them. */
    private final RingResults ringResults = new RingResults();
    /** Where the next ring step starts (the end of the last verified step), -1 when the ring must restart. */
    private int ringEnd = -1;
    /** The token the last server chose after the last step, when the ring ran it; else -1. */
    private int chosenToken = -1;
    private volatile long ringVerified;
    private int ringStalls;
    private boolean ringStalled;
    private volatile long ringRewinds;

    RingVerifier(Session session, RingSpec spec, List<HopSession> hops, BlockingQueue<RemoteSession.Event> events,
                 ClientCounters counters, ResultSignatures signatures, UpstreamProofs proofs, DType wireDtype, Duration stepTimeout) {
        this.session = session;
        this.spec = spec;
        this.hops = hops;
        this.events = events;
        this.counters = counters;
        this.signatures = signatures;
        this.proofs = proofs;
        this.wireDtype = wireDtype;
        this.stepTimeout = stepTimeout;
    }

    /** The generation's sampling, or null when the ring is off. */
    RingSpec spec() {
        return spec;
    }

    /** The ring is on: the last hop sends its token on to the first. */
    boolean on() {
        return spec != null;
    }

    /** See {@link RemoteSession#endRing()}. */
    void end() {
        if (spec == null) return;
        spec = null;
        ringEnd = -1;
        hops.getLast().nextChanged = true;
    }

    /** The next step is the client's own: it truncates every hop and restarts the ring. */
    void restart() {
        ringEnd = -1;
    }

    /** The client's own step ended at {@code end}: the ring goes on from there. */
    void ranTo(int end) {
        ringEnd = end;
    }

    /** The client's own step opens an epoch: the ring's results of the epoch before are stale. */
    void newEpoch() {
        ringResults.clear();
    }

    /** A ring step's result that came while the client ran its own step {@code s}, ending at {@code end}: the ring went on. */
    void keepAhead(HopSession from, long s, ServerLink.Received received, int end) {
        ringResults.keep(from, s, received, end, ringWindow());
    }

    /**
     * The step of {@code n} tokens at {@code position} as the ring ran it, verified; null when the ring
     * did not run it, or it disagreed or stalled (the client then sends it itself).
     */
    ByteBuffer step(float[] hidden, int n, int position) {
        chosenToken = -1;
        if (spec == null || n != 1 || position != ringEnd || position >= spec.stopPosition()) return null;
        ByteBuffer output = ringStep(hidden, position);
        if (output == null) { // a disagreement, or the ring stalled: this step again with the client's copy
            ringRewinds++;
            counters.ringRewound.incrementAndGet();
            if (ringStalled && ++ringStalls >= MAX_RING_STALLS) {
                // Each stall costs a step timeout: a route that keeps losing (or withholding) tokens runs in push mode.
                LOG.log(System.Logger.Level.WARNING, "the ring stalled {0} times; this session goes on in push mode", ringStalls);
                end();
            }
        }
        return output;
    }

    private int ringWindow() {
        return spec == null ? 0 : spec.window();
    }

    /**
     * The step at {@code position} that the servers ran on their own, checked after the fact:
     * the first hop's input must be the client's embedding of its own token (so the last server's token
     * was the client's), and every hop's input the output of the hop before. Accepts it and acknowledges
     * it to every server; null when something disagrees or the ring stalled (the client then re-sends it).
     */
    private ByteBuffer ringStep(float[] hidden, int position) {
        ringStalled = false;
        signatures.check(session.step() - 1);
        ByteBuffer input = Tensors.encode(hidden, wireDtype);
        byte[] expected = Tensors.digest(input);
        long deadline = System.nanoTime() + stepTimeout.toNanos();
        ByteBuffer output = null;
        int lastToken = -1;
        for (int k = 0; k < hops.size(); k++) {
            HopSession h = hops.get(k);
            ServerLink.Received got = awaitRing(h, position, deadline);
            if (got == null) {
                LOG.log(System.Logger.Level.INFO, "ring step at {0}: no result from {1} within {2}; the client sends it itself",
                        position, h.hop.address(), stepTimeout);
                ringStalled = true;
                return null;
            }
            StepResult r = got.header().getResult();
            byte[] outputDigest = r.getOutputDigest().toByteArray();
            if (!Arrays.equals(outputDigest, Tensors.digest(got.payload()))) {
                throw new SwarmException.Corrupt("position " + position + ": the result from " + h.hop.address() + " was damaged in transit",
                        h.hop.address());
            }
            if (!Arrays.equals(r.getInputDigest().toByteArray(), expected)) {
                counters.mismatched.incrementAndGet();
                // The first server ran on a token the last server signed: evidence if it is not the one it reported.
                if (k == 0 && r.hasRingInput()) proofs.proveRingToken(hops.getLast(), r.getRingInput());
                return null;
            }
            counters.results.incrementAndGet();
            signatures.verifyLater(h.hop.address(), h.link, r, r.getStep());
            h.history.removeIf(sent -> sent.position() >= position);
            h.history.add(new HopSession.Sent(input, 1, position, got.payload(), outputDigest, r, signatures.of(r)));
            if (k > 0) session.hopStepAccepted();
            session.stepAtLeast(r.getStep());
            input = got.payload();
            expected = outputDigest;
            output = got.payload();
            lastToken = r.hasRingToken() ? r.getRingToken() : -1;
        }
        // Every input up to this one is verified: the digests chain, and this input is the client's own token's.
        for (HopSession h : hops) {
            try {
                h.link.send(Envelope.newBuilder().setRingAck(dev.catena.transport.proto.RingAck.newBuilder()
                        .setSessionId(ByteString.copyFrom(h.id)).setVerified(position)), null);
            } catch (TransportException gone) {
                // the next step finds it gone and fails over
            }
        }
        ringEnd = position + 1;
        ringVerified++;
        counters.ringVerified.incrementAndGet();
        chosenToken = lastToken;
        return output;
    }

    /** The ring's result of {@code hop} at {@code position}: kept, or the next events'; null when none comes in time. */
    private ServerLink.Received awaitRing(HopSession hop, int position, long deadline) {
        while (true) {
            // What came meanwhile first: a server lost while its results waited here fails this step, not a later one.
            RemoteSession.Event ev = events.poll();
            if (ev == null) {
                ServerLink.Received kept = ringResults.take(hop, position);
                if (kept != null) return kept;
                try {
                    ev = events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new SwarmException("interrupted in the ring step at " + position);
                }
            }
            if (ev == null) return null;
            if (!hops.contains(ev.from())) continue;
            String address = ev.from().hop.address();
            if (ev.received().connectionLost()) {
                throw new SwarmException.Unreachable("ring step at " + position + ": " + ev.received().header().getError().getMessage(), address, null);
            }
            if (ev.received().header().hasError()) {
                var err = ev.received().header().getError();
                throw new SwarmException.Refused(address + " refused a step: " + err.getCode() + " " + err.getMessage(), address, err.getCode().name());
            }
            ringResults.keep(ev.from(), session.step() & ~0xFFFFFFFFL, ev.received(), ringEnd, ringWindow());
        }
    }

    /** The token the last server chose after the last step, if the ring ran it; else -1. */
    int chosenToken() {
        return chosenToken;
    }

    /** See {@link RemoteSession#rewind()}. */
    void rewind() {
        if (ringEnd < 0) return;
        proveRingLie();
        ringEnd = -1;
        chosenToken = -1;
        ringVerified--;
        counters.ringVerified.decrementAndGet();
        ringRewinds++;
        counters.ringRewound.incrementAndGet();
    }

    /**
     * The last server's final hidden state and its token disagree: the first server's next ring step, if
     * it comes soon, names the token and state the last server signed for it, a proof if they are not what it
     * reported to the client.
     */
    private void proveRingLie() {
        if (spec == null || ringEnd >= spec.stopPosition()) return; // no token was sent on: no next ring step to wait for
        try {
            ServerLink.Received next = awaitRing(hops.getFirst(), ringEnd, System.nanoTime() + Math.min(stepTimeout.toNanos(), RING_PROOF_WAIT_NANOS));
            if (next != null && next.header().getResult().hasRingInput()) proofs.proveRingToken(hops.getLast(), next.header().getResult().getRingInput());
        } catch (SwarmException failed) {
            // no proof; the client's own copy of the step comes next, and finds the failure again
        }
    }

    /** Ring steps accepted after the fact. */
    long verified() {
        return ringVerified;
    }

    /** Ring steps that disagreed (or stalled) and were re-sent from the client. */
    long rewinds() {
        return ringRewinds;
    }
}

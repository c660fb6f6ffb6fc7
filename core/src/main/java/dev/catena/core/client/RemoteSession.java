package dev.catena.core.client;

import dev.catena.core.SwarmException;
import com.google.protobuf.ByteString;
import dev.catena.api.BlockRange;
import dev.catena.core.protocol.Tensors;
import dev.catena.transport.proto.DType;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.ErrorCode;
import dev.catena.transport.proto.InputSource;
import dev.catena.transport.proto.OpenSession;
import dev.catena.transport.proto.Step;
import dev.catena.transport.proto.StepResult;
import dev.catena.transport.spi.TransportException;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The client's side of one inference session over a route of servers whose spans chain to cover
 * the model. Each step sends the client's own copy of every hop's input (the source of truth) and
 * accepts hop k+1's result only when its input digest equals the digest of hop k's output; in
 * {@link Mode#PUSH} the servers also push outputs to the next hop, which usually computes before
 * the client's copy arrives.
 * <p>
 * Every hop keeps the inputs it was sent (its history), so that {@link #replace} can swap a failed
 * hop for servers covering the same blocks, possibly split differently, and bring them to the same
 * length by replaying that history. Not thread-safe: one step at a time.
 */
public final class RemoteSession implements AutoCloseable {

    /** RING: the last server samples and sends the token to the first; the client verifies after the fact (README, "Ring mode"). */
    public enum Mode { RELAY, PUSH, RING }

    /** @param at when it reached the client (System.nanoTime) */
    record Event(HopSession from, ServerLink.Received received, long at) {
    }

    private static final System.Logger LOG = System.getLogger(RemoteSession.class.getName());

    private final SwarmClient client;
    private final String modelId;
    private final int nEmbd;
    private final Mode mode;
    private final int maxLength;
    private final DType wireDtype;
    private final Duration stepTimeout;
    /** Copy-on-write: a status reader may list the route while the session thread replaces a hop. */
    private final List<HopSession> hops = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private long step;
    // Written by the session's thread only, read by status readers.
    private volatile long hopSteps;
    private volatile long pushedSteps;
    /** Ring mode's verification after the fact; its spec is null when the ring is off (push mode then). */
    private final RingVerifier ring;
    /** When the last step's last result came, and where that step ended: the next decode step's turnaround starts there. */
    private long lastResultAt;
    private int lastResultEnd = -1;
    /** The turnaround's start for the step being sent, 0 when it counts none (a prompt, a replay, a ring step). */
    private long turnaroundFrom;

    private RemoteSession(SwarmClient client, String modelId, int nEmbd, Mode mode, int maxLength, DType wireDtype,
                          Duration stepTimeout, RingSpec ringSpec) {
        this.client = client;
        this.modelId = modelId;
        this.nEmbd = nEmbd;
        this.mode = mode;
        this.maxLength = maxLength;
        this.wireDtype = wireDtype;
        this.stepTimeout = stepTimeout;
        this.signatures = new ResultSignatures(client.counters(), stepTimeout, client.resultSignatureChecks(), client.signatureSample());
        this.proofs = new UpstreamProofs(client, stepTimeout);
        this.ring = new RingVerifier(new RingVerifier.Session() { // the step counter and hop count stay the session's
            @Override public long step() { return step; }
            @Override public void stepAtLeast(long s) { step = Math.max(step, s); }
            @Override public void hopStepAccepted() { hopSteps++; }
        }, ringSpec, hops, events, client.counters(), signatures, proofs, wireDtype, stepTimeout);
    }

    /**
     * Opens a session on every hop, last first, so that in push mode each server learns the next
     * server's session id at open.
     *
     * @throws SwarmException naming the server that could not be reached or refused
     */
    public static RemoteSession open(SwarmClient client, String modelId, int nEmbd, List<Hop> route, Mode mode,
                                     int maxLength, DType wireDtype, Duration stepTimeout) {
        return open(client, modelId, nEmbd, route, mode, maxLength, wireDtype, stepTimeout, true);
    }

    /** As above; {@code endsTheModel}: the route's last hop runs the model's last block (its results hold the last row only). */
    static RemoteSession open(SwarmClient client, String modelId, int nEmbd, List<Hop> route, Mode mode,
                              int maxLength, DType wireDtype, Duration stepTimeout, boolean endsTheModel) {
        return open(client, modelId, nEmbd, route, mode, maxLength, wireDtype, stepTimeout, endsTheModel, null);
    }

    /** As above; in {@link Mode#RING}, {@code ring} is the generation's sampling (null: the route runs as in push mode). */
    public static RemoteSession open(SwarmClient client, String modelId, int nEmbd, List<Hop> route, Mode mode,
                                     int maxLength, DType wireDtype, Duration stepTimeout, boolean endsTheModel, RingSpec ring) {
        var session = new RemoteSession(client, modelId, nEmbd, mode, maxLength, wireDtype, stepTimeout, mode == Mode.RING ? ring : null);
        session.hops.addAll(session.openChain(route, endsTheModel, true));
        return session;
    }

    /**
     * Ring mode: a later generation on this session (a chat's next turn) runs in push mode: the last
     * server is told to stop sending tokens with the next step.
     */
    public void endRing() {
        ring.end();
    }

    /** Hop {@code index}'s server, blocks, key and a copy of its history (for a spot check off this thread). */
    HopSession.Snapshot snapshot(int index) {
        HopSession h = hops.get(index);
        return new HopSession.Snapshot(h.hop, h.link.publicKey(), List.copyOf(h.history), index == hops.size() - 1);
    }

    int size() {
        return hops.size();
    }

    /**
     * Spot checks: runs another hop's {@code history} (over the same blocks) through this session's one
     * hop, returning what it computed, each with its signed result; stops after {@code limit} entries or
     * after the first whose output does not {@code agree} with the history's.
     */
    List<HopSession.Sent> replay(List<HopSession.Sent> history, int limit, java.util.function.BiPredicate<HopSession.Sent, HopSession.Sent> agree) {
        List<HopSession.Sent> results = new ArrayList<>();
        signatures.checkAll();
        for (HopSession.Sent sent : history.subList(0, Math.min(limit, history.size()))) {
            run(hops, sent.input(), sent.n(), sent.position());
            HopSession.Sent last = hops.getLast().history.getLast();
            signatures.check(step); // a replay waits for its results' signatures: they are the evidence
            var signed = new HopSession.Sent(last.input(), last.n(), last.position(), last.output(), last.outputDigest(),
                    last.signedResult(stepTimeout), last.signature());
            results.add(signed);
            if (!agree.test(sent, signed)) break;
        }
        return results;
    }

    /** Opens sessions on {@code route}, last first, each pushing to the one after it (push mode); closes them all on failure. */
    private List<HopSession> openChain(List<Hop> route, boolean endsTheModel, boolean startsTheModel) {
        List<HopSession> opened = new ArrayList<>();
        try {
            HopSession after = null;
            for (int k = route.size() - 1; k >= 0; k--) {
                boolean last = endsTheModel && k == route.size() - 1;
                after = openHop(route.get(k), last, mode != Mode.RELAY ? after : null,
                        ring.on() ? ring.spec().role(startsTheModel && k == 0, last) : null);
                // The ring's last server learns the first's session with its first step (the first opens after it).
                if (ring.on() && last) after.nextChanged = true;
                opened.addFirst(after);
            }
            return opened;
        } catch (RuntimeException e) {
            opened.forEach(h -> h.closeQuietly(client.requestTimeout()));
            throw e;
        }
    }

    private HopSession openHop(Hop hop, boolean lastOnly, HopSession next, dev.catena.transport.proto.RingRole role) {
        var open = OpenSession.newBuilder().setModelId(modelId).setMaxLength(maxLength).setWireDtype(wireDtype).setLastOnly(lastOnly);
        if (role != null) open.setRing(role);
        if (next != null) {
            open.setNext(next.peer());
        }
        return HopSession.open(client, hop, open, (from, r) -> {
            if (r.header().hasResultSignature()) signatures.arrived(r.header().getResultSignature()); // on the transport's thread
            else events.add(new Event(from, r, System.nanoTime()));
        });
    }

    /** The route now: the servers and the blocks each runs. */
    public List<Hop> route() {
        return hops.stream().map(h -> h.hop).toList();
    }

    /**
     * Runs {@code n} tokens' hidden states through the route at {@code position}; returns the final
     * span's output: the last token's row {@code [1, nEmbd]}.
     *
     * @throws SwarmException when a server refuses the step or the chain is not valid in time
     */
    public float[] step(float[] hidden, int n, int position) {
        // Only a decode step right after the last one counts: a prompt may follow a user's pause.
        turnaroundFrom = n == 1 && position == lastResultEnd ? lastResultAt : 0;
        lastResultEnd = -1;
        ByteBuffer output = ring.step(hidden, n, position); // null when the ring did not run it, or it failed
        if (output == null) output = run(hops, Tensors.encode(hidden, wireDtype), n, position);
        return Tensors.decode(output, Tensors.meta(wireDtype, output.remaining() / Tensors.elementBytes(wireDtype) / nEmbd, nEmbd), nEmbd);
    }

    /**
     * Replaces hop {@code index} by sessions on {@code replacements}, which must chain over the same
     * blocks: opens them, replays the failed hop's history through them (checking that they answer
     * what it answered), closes the old session without waiting for it, and in push mode tells the
     * hop before and the last replacement their new next hop with the next step.
     *
     * @throws SwarmException naming a replacement that failed or disagreed; the route is then unchanged
     */
    public void replace(int index, List<Hop> replacements) {
        replace(index, replacements, true);
    }

    /**
     * As {@link #replace(int, List)}; without {@code checkAgainstOld} the replacements' answers are not
     * compared with the old hop's (the old hop was convicted of lying: its answers are not the truth).
     */
    void replace(int index, List<Hop> replacements, boolean checkAgainstOld) {
        lastResultEnd = -1; // the step retried after a failover counts no turnaround
        HopSession old = hops.get(index);
        checkCovers(old.hop.blocks(), replacements);
        List<HopSession> fresh = openChain(replacements, index == hops.size() - 1, index == 0);
        signatures.forget(old.hop.address()); // it failed: its signatures may never come, and must not fail the replay
        try {
            for (HopSession.Sent sent : List.copyOf(old.history)) {
                ByteBuffer out = run(fresh, sent.input(), sent.n(), sent.position());
                if (checkAgainstOld && !Arrays.equals(Tensors.digest(out), sent.outputDigest())) {
                    String blamed = fresh.getLast().hop.address();
                    throw new SwarmException.Corrupt("replacement " + blamed + " answered position " + sent.position()
                            + " differently from " + old.hop.address() + " before it", blamed);
                }
            }
        } catch (RuntimeException e) {
            fresh.forEach(h -> {
                h.closeQuietly(client.requestTimeout());
                signatures.forget(h.hop.address()); // its closed session signs nothing more
            });
            throw e;
        }
        hops.remove(index);
        hops.addAll(index, fresh);
        old.closeWithoutWaiting();
        signatures.forget(old.hop.address()); // it failed: its signatures may never come
        if (mode != Mode.RELAY) {
            if (index > 0) hops.get(index - 1).nextChanged = true;
            else if (ring.on()) hops.getLast().nextChanged = true; // the ring closes through the new first hop
            if (index + fresh.size() < hops.size() || ring.on()) fresh.getLast().nextChanged = true;
        }
        ring.restart(); // the next step is the client's own: it truncates every hop and restarts the ring
    }

    private static void checkCovers(BlockRange blocks, List<Hop> replacements) {
        int at = blocks.start();
        for (Hop h : replacements) {
            if (h.blocks().start() != at) break;
            at = h.blocks().end();
        }
        if (replacements.isEmpty() || at != blocks.end()) {
            throw new IllegalArgumentException("replacements " + replacements + " do not chain over blocks " + blocks);
        }
    }

    /** The index of the first hop on {@code address}, or -1. */
    public int indexOf(String address) {
        for (int k = 0; k < hops.size(); k++) {
            if (hops.get(k).hop.address().equals(address)) return k;
        }
        return -1;
    }

    /**
     * One step through {@code chain}: sends the input to its first hop and each accepted output on
     * to the next; returns the last hop's output. Each hop's history is rewound to {@code position}
     * and records its input once its result is accepted.
     */
    private ByteBuffer run(List<HopSession> chain, ByteBuffer input, int n, int position) {
        long checkUpTo = step - 1; // the signatures of the step before the last, verified meanwhile: joined once this step is sent
        // Ring mode: the client's steps open an epoch, numbered above every step the ring ran before it.
        long s = mode == Mode.RING ? step = ((step >>> 32) + 1) << 32 : ++step;
        if (mode == Mode.RING) ring.newEpoch();
        int size = chain.size();
        for (HopSession h : chain) {
            h.history.removeIf(sent -> sent.position() >= position); // a re-send rewinds the history too
        }
        ByteBuffer[] inputs = new ByteBuffer[size];
        byte[][] expected = new byte[size][];
        List<List<ServerLink.Received>> pending = new ArrayList<>();
        for (int k = 0; k < size; k++) pending.add(new ArrayList<>());
        inputs[0] = input;
        expected[0] = Tensors.digest(input);
        sendStep(chain.get(0), s, position, n, inputs[0], expected[0]);
        if (turnaroundFrom != 0 && chain == hops) client.counters().turnaround.record(System.nanoTime() - turnaroundFrom);
        turnaroundFrom = 0;
        signatures.check(checkUpTo); // off the critical path; a bad one still fails this step (its hop is replaced, the step re-sent)
        long lastAt = 0;
        long deadline = System.nanoTime() + stepTimeout.toNanos();
        int accepted = 0;
        ByteBuffer output = null;
        while (accepted < size) {
            Event ev = poll(deadline, s, chain.get(accepted));
            int from = chain.indexOf(ev.from());
            if (from < 0) {
                continue; // from a session no longer in this chain
            }
            String address = ev.from().hop.address();
            if (ev.received().connectionLost()) {
                throw new SwarmException.Unreachable("step " + s + ": " + ev.received().header().getError().getMessage(), address, null);
            }
            if (ev.received().header().hasError()) {
                var err = ev.received().header().getError();
                throw new SwarmException.Refused(address + " refused step " + s + ": " + err.getCode() + " " + err.getMessage()
                        + (err.getCode() == ErrorCode.POSITION_GAP ? " (length " + err.getLength() + ")" : ""), address, err.getCode().name());
            }
            StepResult r = ev.received().header().getResult();
            if (r.getStep() != s) {
                if (mode == Mode.RING && chain == hops) ring.keepAhead(ev.from(), s, ev.received(), position + n); // the ring went on
                continue; // a late or duplicate result of an earlier step
            }
            byte[] outputDigest = r.getOutputDigest().toByteArray();
            if (!Arrays.equals(outputDigest, Tensors.digest(ev.received().payload()))) {
                throw new SwarmException.Corrupt("step " + s + ": the result from " + address + " was damaged in transit", address);
            }
            signatures.verifyLater(ev.from().hop.address(), ev.from().link, r, s);
            client.counters().results.incrementAndGet();
            if (r.getCorrected()) client.counters().corrected.incrementAndGet();
            if (r.getCorrected() && r.hasInconsistentPush() && from > 0) proofs.proveAgainst(chain.get(from - 1), r);
            pending.get(from).add(ev.received());
            // Accept hops in order: hop k's result is valid when it computed on exactly what the client holds as its input.
            while (accepted < size) {
                int k = accepted;
                ServerLink.Received match = null;
                for (var it = pending.get(k).iterator(); it.hasNext(); ) {
                    var candidate = it.next();
                    it.remove();
                    if (Arrays.equals(candidate.header().getResult().getInputDigest().toByteArray(), expected[k])) {
                        match = candidate;
                        break;
                    }
                    client.counters().mismatched.incrementAndGet(); // computed on a bad push: its correction will follow
                }
                if (match == null) break;
                accepted++;
                lastAt = ev.at();
                if (accepted == size && chain == hops) client.counters().resultWait.record(System.nanoTime() - lastAt);
                if (k > 0) {
                    hopSteps++;
                    if (match.header().getResult().getSource() == InputSource.PUSH) {
                        pushedSteps++;
                        client.counters().pushed.incrementAndGet();
                    }
                }
                output = match.payload();
                chain.get(k).history.add(new HopSession.Sent(inputs[k], n, position, output, match.header().getResult().getOutputDigest().toByteArray(),
                        match.header().getResult(), signatures.of(match.header().getResult())));
                if (k + 1 < size) {
                    inputs[k + 1] = output;
                    expected[k + 1] = match.header().getResult().getOutputDigest().toByteArray(); // checked on arrival
                    sendStep(chain.get(k + 1), s, position, n, output, expected[k + 1]); // the client's own copy, also the fallback for a lost push
                }
            }
        }
        if (mode == Mode.RING && chain == hops) ring.ranTo(position + n);
        if (chain == hops) {
            lastResultAt = lastAt;
            lastResultEnd = position + n;
        }
        return output;
    }

    /** Ring mode: the token the last server chose after the last step, if the ring ran it; else -1. */
    public int chosenToken() {
        return ring.chosenToken();
    }

    /**
     * Ring mode: the last step's final hidden state and the token the last server chose from it disagree
     * (the client's own head and sampler chose another): the next step, that one again, is the client's own.
     */
    public void rewind() {
        ring.rewind();
    }

    /** Ring steps accepted after the fact (see README, "Ring mode"). */
    public long ringVerified() {
        return ring.verified();
    }

    /** Ring steps that disagreed (or stalled) and were re-sent from the client. */
    public long ringRewinds() {
        return ring.rewinds();
    }

    private static final long CLOSE_WAIT_MS = 1000;
    /** The results' signatures: they trail their results, and are verified off the critical path. */
    private final ResultSignatures signatures;
    /** Proofs against upstream servers whose pushes differed from their results, being assembled. */
    private final UpstreamProofs proofs;

    private Event poll(long deadline, long s, HopSession awaited) {
        try {
            Event ev = events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (ev == null) {
                throw new SwarmException.Timeout("step " + s + ": no valid result from " + awaited.hop.address() + " within "
                        + stepTimeout, awaited.hop.address());
            }
            return ev;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SwarmException("interrupted in step " + s);
        }
    }

    private void sendStep(HopSession hop, long s, int position, int n, ByteBuffer input, byte[] digest) {
        var st = Step.newBuilder().setSessionId(ByteString.copyFrom(hop.id)).setStep(s).setPosition(position)
                .setHidden(Tensors.meta(wireDtype, n, nEmbd)).setDigest(ByteString.copyFrom(digest));
        boolean repoint = hop.nextChanged;
        if (repoint) {
            int k = hops.indexOf(hop);
            if (k >= 0 && k + 1 < hops.size()) st.setNext(hops.get(k + 1).peer());
            else if (ring.on() && k == hops.size() - 1) st.setNext(hops.getFirst().peer()); // the ring closes
            else st.setClearNext(true);
        }
        try {
            hop.link.send(Envelope.newBuilder().setStep(st), input.duplicate());
        } catch (TransportException e) {
            throw new SwarmException.Unreachable("step " + s + " to " + hop.hop.address() + ": " + e.getMessage(), hop.hop.address(), e);
        }
        if (repoint) hop.nextChanged = false;
    }

    /** Results accepted from the second and later hops of every step (replays included). */
    public long hopSteps() {
        return hopSteps;
    }

    /** Of {@link #hopSteps()}, those the server computed on a pushed input. */
    public long pushedSteps() {
        return pushedSteps;
    }

    /** Closes the session on every server of the route, waiting for each answer up to the request timeout. */
    @Override
    public void close() {
        // The last steps' signatures: a little time for those still coming, none for a server that is gone.
        signatures.waitAtMost(CLOSE_WAIT_MS);
        try {
            signatures.check(Long.MAX_VALUE);
        } catch (SwarmException late) { // a bad signature, or a server gone before it signed: closing goes on
            LOG.log(System.Logger.Level.WARNING, late.getMessage());
        }
        proofs.finish(CLOSE_WAIT_MS);
        hops.forEach(h -> h.closeQuietly(client.requestTimeout()));
    }
}

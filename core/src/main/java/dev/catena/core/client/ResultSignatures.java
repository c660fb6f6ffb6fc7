package dev.catena.core.client;

import dev.catena.core.SwarmException;
import dev.catena.transport.proto.ResultSignature;
import dev.catena.transport.proto.StepResult;
import dev.catena.transport.sign.Statements;

import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A session's results' signatures. They trail their results ({@code ResultSignature} frames on the same
 * connection) and are verified on other threads as soon as they arrive. A result is accepted at once by
 * the digest chain, which is what makes it valid; its signature makes it accountable, so its check is
 * joined later ({@link #check}), and a bad or missing one fails that hop then ({@link SwarmException.Corrupt}:
 * banned, replaced, replayed). Only a random sample of results is verified ({@link SwarmClient#resultSignatureChecks},
 * chosen by a generator the servers cannot predict, so a server that sends bad signatures is caught after a
 * few steps), and every result of a replay, which may become evidence. Used on the session's thread, but
 * {@link #arrived} on the transport's.
 */
final class ResultSignatures {
    /** A result's signature, being verified off the session's thread. */
    private record Pending(String address, ServerLink link, PublicKey key, long step, CompletableFuture<Boolean> valid,
                           CompletableFuture<byte[]> signature) {
    }

    private static final ExecutorService VERIFIERS = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("catena-verify").factory());
    /** Slots per hop's session: a hop can fill only its own, so a hostile hop cannot make honest hops' signatures be dropped. */
    private static final int MAX_SIGNATURES_PER_SESSION = 1024;
    /**
     * Check rounds after which a signature still awaited is given up: every check of its step was joined
     * long since (each waits at most the timeout), so only a server that never signed leaves one this old.
     */
    static final int AWAITED_ROUNDS = 64;

    private final ClientCounters counters;
    private final Duration timeout;
    private final List<Pending> unverified = new ArrayList<>();
    /** Signatures by (session, step, output digest), completed as they arrive. */
    private final ConcurrentHashMap<Key, Slot> signatures = new ConcurrentHashMap<>();
    /** Slots held per hop's session id. */
    private final ConcurrentHashMap<com.google.protobuf.ByteString, java.util.concurrent.atomic.AtomicInteger> perSession = new ConcurrentHashMap<>();
    /** The calls to {@link #check} so far (about one per client step): a slot's age. */
    private volatile long round;

    private final double fraction;
    private final java.util.SplittableRandom sample;
    private boolean checkAll;

    /** @param fraction the share of results whose signatures are verified, in [0, 1], drawn from {@code sample} */
    ResultSignatures(ClientCounters counters, Duration timeout, double fraction, java.util.SplittableRandom sample) {
        this.counters = counters;
        this.timeout = timeout;
        this.fraction = fraction;
        this.sample = sample;
    }

    /** From now on every result's signature is verified (a replay: its results may become evidence). */
    void checkAll() {
        checkAll = true;
    }

    /** A result's signature's place: its session, step and output digest (ByteStrings compare by content). */
    private record Key(com.google.protobuf.ByteString session, long step, com.google.protobuf.ByteString outputDigest) {
    }

    /** A signature, completed when it arrives; made in check round {@code round}, at {@code madeNanos}. */
    private record Slot(CompletableFuture<byte[]> signature, long round, long madeNanos) {
    }

    private Slot slot(Key key) {
        return signatures.computeIfAbsent(key, k -> {
            perSession.computeIfAbsent(k.session(), x -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
            return new Slot(new CompletableFuture<>(), round, System.nanoTime());
        });
    }

    /** A result's trailing signature arrived (transport thread). Bounded per hop: a server cannot make us hold more. */
    void arrived(ResultSignature rs) {
        Key key = new Key(rs.getSessionId(), rs.getStep(), rs.getOutputDigest());
        var held = perSession.get(key.session());
        if (held != null && held.get() >= MAX_SIGNATURES_PER_SESSION && !signatures.containsKey(key)) return;
        slot(key).signature().complete(rs.getSignature().toByteArray());
    }

    /** A result's signature: inline, or the one trailing it (completed when it arrives). */
    CompletableFuture<byte[]> of(StepResult r) {
        if (!r.getSignature().isEmpty()) return CompletableFuture.completedFuture(r.getSignature().toByteArray());
        return slot(new Key(r.getSessionId(), r.getStep(), r.getOutputDigest())).signature();
    }

    /** Starts verifying, if sampled, the signature of a result {@code address} gave for step {@code step}, as soon as it arrives. */
    void verifyLater(String address, ServerLink link, StepResult r, long step) {
        if (!checkAll && (fraction <= 0 || (fraction < 1 && sample.nextDouble() >= fraction))) {
            counters.signaturesNotSampled.incrementAndGet();
            return;
        }
        PublicKey key = link.publicKey();
        CompletableFuture<byte[]> signature = of(r);
        byte[] statement;
        try {
            statement = Statements.step(r); // the statement its push (if any) carries too: one signature per step
        } catch (IllegalArgumentException unsignable) { // a field over a statement's 255 bytes: no signature can cover it
            unverified.add(new Pending(address, link, key, step, CompletableFuture.completedFuture(false), signature));
            return;
        }
        unverified.add(new Pending(address, link, key, step, signature
                .thenApplyAsync(sig -> Statements.verify(key, statement, sig), VERIFIERS)
                .completeOnTimeout(false, timeout.toMillis(), TimeUnit.MILLISECONDS), signature));
    }

    /** Drops the checks of a server that failed: its signatures may never come. */
    void forget(String address) {
        unverified.removeIf(p -> p.address().equals(address));
    }

    /** Gives the checks still running at most {@code millis} more (at close). */
    void waitAtMost(long millis) {
        unverified.replaceAll(p -> new Pending(p.address(), p.link(), p.key(), p.step(),
                p.valid().completeOnTimeout(false, millis, TimeUnit.MILLISECONDS), p.signature()));
    }

    /**
     * Bounds the slots whatever share is sampled. One that arrived, of a step long past, goes: used by now
     * (its results' histories and checks hold it), or never (a result not accepted). One still awaited stays
     * until it arrives (it completes what a check or a history holds), or until it is old: {@link #AWAITED_ROUNDS}
     * rounds and twice the timeout. Dropped by step number, a late signature came into a new slot that no one
     * held, and its check waited the whole timeout (a ring numbers each client step 2^32 after the last, so
     * "8 steps back" was the step before). An arrived one of a step never reached (a hostile hop's) goes when old.
     */
    private void forgetPast(long upTo, long now) {
        signatures.entrySet().removeIf(e -> {
            // Old in rounds and in time: a fast ring runs 64 rounds in tens of ms, while a signer may lag.
            boolean old = now - e.getValue().round() > AWAITED_ROUNDS && System.nanoTime() - e.getValue().madeNanos() > 2 * timeout.toNanos();
            boolean gone = e.getValue().signature().isDone() ? e.getKey().step() <= upTo - 8 || old : old;
            if (gone) perSession.computeIfPresent(e.getKey().session(), (k, n) -> n.decrementAndGet() <= 0 ? null : n);
            return gone;
        });
    }

    /** Slots held (arrived, or awaited): bounded. */
    int held() {
        return signatures.size();
    }

    /** Joins the signature checks of steps up to {@code upTo}; the first bad one fails its hop. */
    void check(long upTo) {
        List<Pending> due = unverified.stream().filter(p -> p.step() <= upTo).toList();
        unverified.removeAll(due);
        if (upTo != Long.MAX_VALUE) forgetPast(upTo, ++round);
        for (Pending p : due) {
            if (!p.valid().isDone() && !p.link().isOpen()) { // gone before its signature came: fail it now, not after a wait
                throw new SwarmException.Unreachable("step " + p.step() + ": connection to " + p.address() + " lost before it signed its result",
                        p.address(), null);
            }
            if (!p.valid().join()) {
                counters.badSignatures.incrementAndGet();
                if (!p.signature().isDone()) { // a server that hangs after its result (ring mode has its results early)
                    throw new SwarmException.Timeout("step " + p.step() + ": " + p.address() + " did not answer with its result's signature within "
                            + timeout, p.address());
                }
                throw new SwarmException.Corrupt("step " + p.step() + ": the result from " + p.address() + " is not signed by its key "
                        + (p.key() == null ? "(none)" : Statements.fingerprint(p.key())), p.address());
            }
        }
    }
}

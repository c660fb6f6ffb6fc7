package dev.catena.core.server;

import dev.catena.api.spi.BatchStep;
import dev.catena.api.spi.Span;
import dev.catena.core.server.WaitingSteps.Pending;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import static java.util.concurrent.TimeUnit.SECONDS;

/**
 * Continuous batching: the sessions' threads hand their steps here and wait; one compute thread runs
 * the decode steps that are ready, up to {@code maxBatch} of them, as one {@link Span#forwardBatch}
 * call (one pass over the weights for all). With {@code wait} above zero, a batch not yet full waits
 * that long for more. At zero, a step of a lone session (the span's recent batches held one step, and
 * no other session stepped lately: {@link SessionsSteppingLately}) that finds the span idle runs at once on its own thread as the unbatched server runs it
 * ({@code SpanSession.forward}: no hand-off, no batch, and the compute thread is not woken, so a lone
 * session's latency is unchanged); after batches of several, or while several sessions step, a batch
 * waits up to a quarter of the last compute (at most {@link #CONVOY_WAIT}) for as many steps as the last
 * batch held or as sessions stepped lately; and the steps that arrive while one computes form the next
 * batch. Prefill steps (several tokens) take turns with the decode batches
 * so that neither starves the other; a prefill's turn takes the waiting decode steps along, and a
 * decode batch takes waiting prefills along while their rows stay within {@code maxPrefillRows}
 * (0: prefills run alone), so a long prompt delays the others' decode by one batch at most. A batch
 * is topped up with the steps that came while it waited for the span's turn on its device
 * ({@link Span#awaitComputeTurn}: processors shared with the other spans of this process).
 */
final class StepBatcher implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(StepBatcher.class.getName());

    /**
     * With no wait set, the most a batch waits for as many steps as the span's recent batches held (a
     * quarter of the last compute's time, at most this): a batch's sessions move on through a swarm
     * together and reach the next server within a few milliseconds (without the wait, the first of them
     * ran alone at every hop and the rest formed the next batch); a quarter of a step is worth waiting
     * for a batch that shares the step's weight reads.
     */
    static final Duration CONVOY_WAIT = Duration.ofMillis(5);

    /** How often a batch waiting for its companions looks whether earlier spans are still busy. */
    private static final long EARLIER_SPANS_POLL_NANOS = 500_000;

    private final Span span;
    private final long convoyWaitNanos;
    /**
     * Steps the next batch expects: the last batch's size, or half the previous expectation if larger
     * (so that a lone session after a busy spell waits a few convoy waits at most, then runs at once again).
     */
    private int expected = 1; // guarded by lock
    private final SessionsSteppingLately lately; // guarded by lock
    /** How long the last step or batch computed; guarded by lock. */
    private long lastComputeNanos;
    private final int maxBatch;
    private final long waitNanos;
    private final int maxPrefillRows;
    private final ReentrantLock lock = new ReentrantLock();
    /** The worker's wait for the span to be free with steps waiting. */
    private final Condition free = lock.newCondition();
    /** The worker's wait for more steps while it gathers a batch (a set wait, or the convoy wait). */
    private final Condition more = lock.newCondition();
    private final WaitingSteps waiting;
    private final Thread worker;
    private final ServerCounters counters;
    private boolean prefillTurn;
    /** A batch is computing (or being gathered): at most one at a time, on the worker or a caller's thread. */
    private boolean computing;
    private boolean closed;

    StepBatcher(Span span, int maxBatch, Duration wait, ServerCounters counters) {
        this(span, maxBatch, wait, 0, counters);
    }

    StepBatcher(Span span, int maxBatch, Duration wait, int maxPrefillRows, ServerCounters counters) {
        this(span, maxBatch, wait, maxPrefillRows, counters, CONVOY_WAIT);
    }

    /** {@code convoyWait}: the most a convoy wait lasts, {@link #CONVOY_WAIT} (tests set their own). */
    StepBatcher(Span span, int maxBatch, Duration wait, int maxPrefillRows, ServerCounters counters, Duration convoyWait) {
        this.convoyWaitNanos = convoyWait.toNanos();
        if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        if (maxPrefillRows < 0) throw new IllegalArgumentException("maxPrefillRows must be >= 0, got " + maxPrefillRows);
        this.maxPrefillRows = maxPrefillRows;
        if (wait.isNegative()) throw new IllegalArgumentException("the batch wait must not be negative, got " + wait);
        this.span = span;
        this.maxBatch = maxBatch;
        this.waitNanos = wait.toNanos();
        this.counters = counters;
        this.lately = new SessionsSteppingLately(maxBatch);
        this.waiting = new WaitingSteps(maxBatch, maxPrefillRows);
        this.worker = Thread.ofPlatform().daemon().name("catena-batch").start(this::work);
    }

    /** Runs the step in a batch; waits for its result (or throws its error, as {@code forward} would). */
    float[] forward(dev.catena.api.spi.SpanSession session, float[] hidden, int n, int position, boolean lastOnly) {
        Pending p = null;
        lock.lock();
        try {
            if (closed) throw new IllegalStateException("server is closing");
            if (waitNanos == 0) lately.stepped(session, lastComputeNanos); // a set wait gathers up to maxBatch anyway
            // A lone session's step runs at once; after batches of several, the others' steps are worth a short wait.
            if (waitNanos == 0 && !computing && waiting.isEmpty() && expected <= 1 && lately.toWaitFor() <= 1) {
                computing = true;
                prefillTurn = n == 1;
            } else {
                p = new Pending(new BatchStep(session, hidden, n, position, lastOnly), new CompletableFuture<>());
                waiting.add(p);
                // Wake the worker only where it waits for this: a free span, or more steps for the batch it gathers.
                if (!computing) free.signal();
                more.signal();
            }
        } finally {
            lock.unlock();
        }
        if (p == null) {
            return alone(session, hidden, n, position, lastOnly);
        }
        try {
            return p.result().join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw e;
        }
    }

    /**
     * A step that found the span idle and nothing waiting: the unbatched path itself, on the caller's thread
     * (no hand-off, no batch, no copy), then the span is free for whatever queued meanwhile.
     */
    private float[] alone(dev.catena.api.spi.SpanSession session, float[] hidden, int n, int position, boolean lastOnly) {
        long started = System.nanoTime();
        try {
            float[] out = session.forward(hidden, n, position, lastOnly);
            counters.computeNanos.addAndGet(System.nanoTime() - started);
            counters.batches.incrementAndGet();
            counters.batchedSteps.incrementAndGet();
            return out;
        } finally {
            release(1, System.nanoTime() - started);
        }
    }

    /** Whether nothing computes or waits (a batch's steps get their results just before it frees the span). */
    boolean idle() {
        lock.lock();
        try {
            return !computing && waiting.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /** Steps waiting for a batch (not those computing now). */
    int queued() {
        lock.lock();
        try {
            return waiting.size();
        } finally {
            lock.unlock();
        }
    }

    private void work() {
        while (true) {
            List<Pending> batch = next();
            if (batch == null) return;
            // The span's turn on its device first (other spans of this process may hold the processors), then the
            // steps that arrived meanwhile: they join this batch rather than wait for the next one.
            boolean ran = false;
            try (var turn = span.awaitComputeTurn()) {
                topUp(batch);
                ran = true;
                run(batch); // completes every step and frees the span, whatever the span throws
            } catch (RuntimeException | Error e) {
                // The span's turn failed: its steps fail as a failed compute's would, and the span is freed.
                LOG.log(System.Logger.Level.WARNING, "the span's turn on its device failed", e);
                RuntimeException failure = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                batch.forEach(p -> p.result().completeExceptionally(failure));
                if (!ran) release(batch.size(), 0);
            }
        }
    }

    /** {@link Span#earlierSpansBusy}; a span that fails to tell is taken as not busy (the batch does not wait). */
    private boolean earlierSpansBusy(long inFlight) {
        try {
            return span.earlierSpansBusy(inFlight);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "the span could not tell whether earlier spans are busy", e);
            return false;
        }
    }

    /** Adds the steps that arrived while the batch waited for its turn (a prefill that runs alone stays alone). */
    private void topUp(List<Pending> batch) {
        if (maxPrefillRows == 0 && batch.getFirst().step().n() > 1) return;
        lock.lock();
        try {
            waiting.takeInto(batch);
        } finally {
            lock.unlock();
        }
    }

    /** The next batch: decodes ready now (and, with a wait, those that come within it), or one prefill; null once closed. */
    private List<Pending> next() {
        lock.lock();
        try {
            while (computing || waiting.isEmpty()) {
                if (closed && !computing && waiting.isEmpty()) return null;
                free.awaitUninterruptibly();
            }
            computing = true;
            List<Pending> batch = new ArrayList<>();
            if (waiting.prefillFirst(prefillTurn)) {
                prefillTurn = false;
                batch.add(waiting.pollPrefill());
                if (maxPrefillRows == 0) return batch;
            } else {
                prefillTurn = true;
            }
            waiting.takeInto(batch);
            // A set wait gathers up to maxBatch; without one, the convoy wait gathers as many as recent batches held.
            long wait = waitNanos > 0 ? waitNanos : Math.min(convoyWaitNanos, lastComputeNanos / 4);
            int target = waitNanos > 0 ? maxBatch : Math.min(maxBatch, Math.max(expected, lately.toWaitFor()));
            long deadline = System.nanoTime() + wait;
            while (batch.size() < target && wait > 0 && !closed) {
                long left = deadline - System.nanoTime();
                if (left <= 0) break;
                try {
                    more.awaitNanos(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                waiting.takeInto(batch);
            }
            if (waitNanos == 0 && wait > 0 && target > 1) {
                lately.waited(target, batch.size());
            }
            if (waitNanos == 0) awaitCompanionsFromEarlierSpans(batch);
            return batch;
        } finally {
            lock.unlock();
        }
    }

    /**
     * While spans of earlier blocks on this span's device are busy (servers of one process sharing the processors),
     * a batch short of the sessions stepping lately waits for them, up to 4 times the last compute (at most 1 s):
     * their steps are on their way through those spans, and this one would wait for the processors anyway. The
     * sessions then gather at the later spans and move on as one batch; without the wait, groups of sessions chased
     * each other through the servers of a process, one compute apart, and never met. Polled, every
     * {@link #EARLIER_SPANS_POLL_NANOS}: the spans do not tell the batcher when they are done.
     */
    private void awaitCompanionsFromEarlierSpans(List<Pending> batch) {
        int target = Math.min(maxBatch, lately.recent());
        long deadline = System.nanoTime() + Math.min(4 * lastComputeNanos, SECONDS.toNanos(1));
        long inFlight = Math.min(convoyWaitNanos, lastComputeNanos / 4); // a batch's outputs reach the next span within a convoy wait
        // Steps already here that this batch cannot take (a prefill over the rows allowed) are not waited for.
        while (batch.size() + waiting.size() < target && !closed && earlierSpansBusy(inFlight)) {
            long left = deadline - System.nanoTime();
            if (left <= 0) break;
            try {
                more.awaitNanos(Math.min(left, EARLIER_SPANS_POLL_NANOS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            waiting.takeInto(batch);
        }
    }

    /** Computes a batch, completes its steps, and frees the span for the next batch. */
    private void run(List<Pending> batch) {
        long started = System.nanoTime();
        try {
            compute(batch);
        } finally {
            release(batch.size(), System.nanoTime() - started);
        }
    }

    /** Frees the span after {@code size} steps; wakes the worker only when steps wait (a lone session's steps never wake it). */
    private void release(int size, long computeNanos) {
        lock.lock();
        try {
            computing = false;
            lastComputeNanos = computeNanos;
            expected = Math.max(size, expected / 2);
            if (closed || !waiting.isEmpty()) free.signal();
        } finally {
            lock.unlock();
        }
    }

    private void compute(List<Pending> batch) {
        List<BatchStep.Result> results;
        long started = System.nanoTime();
        try {
            results = span.forwardBatch(batch.stream().map(Pending::step).toList());
            counters.computeNanos.addAndGet(System.nanoTime() - started); // once per batch: steps / time is the throughput
        } catch (RuntimeException | Error failed) {
            LOG.log(System.Logger.Level.WARNING, "a batch of " + batch.size() + " steps failed", failed);
            RuntimeException e = failed instanceof RuntimeException r ? r : new IllegalStateException(failed);
            batch.forEach(p -> p.result().completeExceptionally(e));
            return;
        }
        counters.batches.incrementAndGet();
        counters.batchedSteps.addAndGet(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            BatchStep.Result r = results.get(i);
            if (r.error() != null) batch.get(i).result().completeExceptionally(r.error());
            else batch.get(i).result().complete(r.hidden());
        }
    }

    /** Lets the steps already handed in finish, then stops the compute thread. */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            free.signalAll();
            more.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            worker.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

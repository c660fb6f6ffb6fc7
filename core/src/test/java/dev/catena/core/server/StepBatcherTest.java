package dev.catena.core.server;

import dev.catena.api.ModelInfo;
import dev.catena.api.SpanInputException;
import dev.catena.api.spi.BatchStep;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.Span;
import dev.catena.api.spi.SpanSession;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The batcher's gathering rules, on a span that records the batches it is given. */
class StepBatcherTest {

    /** A session whose step doubles its input; a NaN input is refused, as a real span refuses it. */
    private record Doubling(int id) implements SpanSession {
        @Override public int length() { return 0; }
        @Override public int maxLength() { return 1024; }
        @Override public long kvBytes() { return 0; }
        @Override public void truncate(int position) { }
        @Override public void close() { }

        @Override
        public float[] forward(float[] hidden, int n, int position, boolean lastOnly) {
            float[] out = new float[hidden.length];
            for (int i = 0; i < out.length; i++) {
                if (Float.isNaN(hidden[i])) throw new SpanInputException("non-finite input");
                out[i] = 2 * hidden[i];
            }
            return out;
        }
    }

    /**
     * A session whose lone steps run outside any batch (the unbatched path): it records them in the span's
     * batches as batches of one, and its thread, then waits for the span's gate as a batch would.
     */
    private record Held(RecordingSpan span) implements SpanSession {
        @Override public int length() { return 0; }
        @Override public int maxLength() { return 1024; }
        @Override public long kvBytes() { return 0; }
        @Override public void truncate(int position) { }
        @Override public void close() { }

        @Override
        public float[] forward(float[] hidden, int n, int position, boolean lastOnly) {
            span.entered.incrementAndGet();
            span.threads.add(Thread.currentThread());
            span.batches.add(List.of(n));
            try {
                span.gate.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new Doubling(-1).forward(hidden, n, position, lastOnly);
        }
    }

    /** Records each batch's step counts (1 per decode, n per prefill); the first batch waits for {@code gate}. */
    private static final class RecordingSpan implements Span {
        final List<List<Integer>> batches = Collections.synchronizedList(new ArrayList<>());
        final CountDownLatch gate;
        final java.util.concurrent.atomic.AtomicInteger entered = new java.util.concurrent.atomic.AtomicInteger();
        final List<Thread> threads = Collections.synchronizedList(new ArrayList<>());
        volatile boolean fail;
        volatile long computeMillis; // how long each batch takes

        /** When set, a turn on the device ({@link #awaitComputeTurn}) waits for it, after counting down {@link #awaitingTurn}. */
        volatile CountDownLatch deviceFree;
        /** What {@link #earlierSpansBusy} answers. */
        volatile boolean earlierBusy;
        volatile boolean turnFails;
        final CountDownLatch awaitingTurn = new CountDownLatch(1);
        final java.util.concurrent.atomic.AtomicInteger turnsClosed = new java.util.concurrent.atomic.AtomicInteger();

        RecordingSpan(CountDownLatch gate) {
            this.gate = gate;
        }

        @Override
        public boolean earlierSpansBusy(long withinNanos) {
            return earlierBusy;
        }

        @Override
        public dev.catena.api.spi.ComputeTurn awaitComputeTurn() {
            if (turnFails) throw new IllegalStateException("the device is gone");
            CountDownLatch free = deviceFree;
            if (free == null) return dev.catena.api.spi.ComputeTurn.NONE;
            awaitingTurn.countDown();
            try {
                free.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return turnsClosed::incrementAndGet;
        }

        @Override
        public List<BatchStep.Result> forwardBatch(List<BatchStep> steps) {
            entered.incrementAndGet();
            threads.add(Thread.currentThread());
            try {
                gate.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            batches.add(steps.stream().map(BatchStep::n).toList());
            try {
                Thread.sleep(computeMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (fail) throw new IllegalStateException("the device failed");
            return Span.super.forwardBatch(steps);
        }

        @Override public ModelInfo model() { return null; }
        @Override public int start() { return 0; }
        @Override public int end() { return 1; }
        @Override public long weightBytes() { return 0; }
        @Override public String device() { return "test"; }
        @Override public SpanSession openSession(SessionOptions options) { throw new UnsupportedOperationException(); }
        @Override public long kvBytesFor(SessionOptions options) { return 0; }
        @Override public void close() { }
    }

    @Test
    void stepsArrivingWhileTheBatchWaitsForTheDeviceJoinIt() throws Exception {
        var span = new RecordingSpan(new CountDownLatch(0));
        span.deviceFree = new CountDownLatch(1); // another span of the process holds the processors
        try (var batcher = new StepBatcher(span, 8, Duration.ofMillis(1), new ServerCounters());
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<CompletableFuture<float[]>> results = new ArrayList<>();
            results.add(CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(0), new float[]{0}, 1, 0, true), clients));
            assertTrue(span.awaitingTurn.await(10, TimeUnit.SECONDS), "the batch of one never asked for the device");
            for (int s = 1; s < 4; s++) {
                float[] in = {s};
                int id = s;
                results.add(CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(id), in, 1, 0, true), clients));
            }
            waitForQueued(batcher, 3);
            span.deviceFree.countDown();
            for (int s = 0; s < 4; s++) {
                assertArrayEquals(new float[]{2 * s}, results.get(s).get(10, TimeUnit.SECONDS), "session " + s + "'s own result");
            }
            assertEquals(List.of(List.of(1, 1, 1, 1)), span.batches, "the steps that came during the wait for the device ran with it");
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10); // given back just after the results
            while (span.turnsClosed.get() == 0 && System.nanoTime() < end) Thread.sleep(1);
            assertEquals(1, span.turnsClosed.get(), "the turn was given back");
        }
    }

    @Test
    void aBatchShortOfTheSessionsSteppingLatelyWaitsForThemWhileEarlierSpansAreBusy() throws Exception {
        var gate = new CountDownLatch(1);
        var span = new RecordingSpan(gate);
        span.computeMillis = 400; // convoy waits of a quarter of that: 100 ms
        var counters = new ServerCounters();
        try (var batcher = new StepBatcher(span, 8, Duration.ZERO, 0, counters, Duration.ofMillis(200));
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            // Three sessions step: held runs alone at once and holds the span; b and c queue, then run as one batch.
            var held = new Held(span);
            var b = new Doubling(1);
            var c = new Doubling(2);
            List<CompletableFuture<float[]>> firstSteps = new ArrayList<>();
            firstSteps.add(CompletableFuture.supplyAsync(() -> batcher.forward(held, new float[]{0}, 1, 0, true), clients));
            waitForEntered(span);
            firstSteps.add(CompletableFuture.supplyAsync(() -> batcher.forward(b, new float[]{1}, 1, 0, true), clients));
            firstSteps.add(CompletableFuture.supplyAsync(() -> batcher.forward(c, new float[]{2}, 1, 0, true), clients));
            waitForQueued(batcher, 2);
            gate.countDown();
            for (var f : firstSteps) f.get(10, TimeUnit.SECONDS);
            // Again, now that a compute's time is known: with none, "lately" was the last millisecond.
            awaitIdle(batcher);
            List<CompletableFuture<float[]>> againSteps = new ArrayList<>();
            for (var session : List.of(held, b, c)) {
                againSteps.add(CompletableFuture.supplyAsync(() -> batcher.forward(session, new float[]{0}, 1, 1, true), clients));
            }
            long batchesBefore = counters.batches.get();
            for (var f : againSteps) f.get(10, TimeUnit.SECONDS);
            awaitIdle(batcher);
            assertEquals(1, counters.batches.get() - batchesBefore, "setup: the three steps sent at once ran as one batch");
            long batches = counters.batches.get();
            long steps = counters.batchedSteps.get();
            // The three step again while spans of earlier blocks compute: b first, the others well after the 100 ms
            // convoy wait. b's batch waits for them, up to 4 computes.
            span.earlierBusy = true;
            var second = CompletableFuture.supplyAsync(() -> batcher.forward(b, new float[]{3}, 1, 2, true), clients);
            Thread.sleep(250);
            var third = CompletableFuture.supplyAsync(() -> batcher.forward(c, new float[]{4}, 1, 2, true), clients);
            Thread.sleep(20);
            var fourth = CompletableFuture.supplyAsync(() -> batcher.forward(held, new float[]{5}, 1, 2, true), clients);
            assertArrayEquals(new float[]{6}, second.get(10, TimeUnit.SECONDS));
            assertArrayEquals(new float[]{8}, third.get(10, TimeUnit.SECONDS));
            assertArrayEquals(new float[]{10}, fourth.get(10, TimeUnit.SECONDS));
            assertEquals(3, counters.batchedSteps.get() - steps);
            assertEquals(1, counters.batches.get() - batches, "b's step did not wait for the others' while earlier spans were busy: " + span.batches);
        }
    }

    @Test
    void aTurnThatFailsFailsItsStepsAndTheBatcherGoesOn() throws Exception {
        var gate = new CountDownLatch(1);
        var span = new RecordingSpan(gate);
        // Not closed by try: a step that never completes (the old worker died with it) must fail the test, not hang it.
        ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
        try (var batcher = new StepBatcher(span, 8, Duration.ZERO, new ServerCounters())) {
            // held holds the span on its own thread, so the next step goes to the batching thread and its turn.
            var first = CompletableFuture.supplyAsync(() -> batcher.forward(new Held(span), new float[]{0}, 1, 0, true), clients);
            waitForEntered(span);
            span.turnFails = true;
            var failing = CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(1), new float[]{1}, 1, 0, true), clients);
            waitForQueued(batcher, 1);
            gate.countDown();
            first.get(10, TimeUnit.SECONDS);
            var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> failing.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof IllegalStateException, "the turn's failure: " + e.getCause());
            span.turnFails = false;
            awaitIdle(batcher);
            assertArrayEquals(new float[]{4}, batcher.forward(new Doubling(2), new float[]{2}, 1, 0, true), "the batcher went on");
        } finally {
            clients.shutdownNow();
        }
    }

    @Test
    void stepsReadyTogetherRunAsBatchesOfAtMostMaxBatch() throws Exception {
        var gate = new CountDownLatch(1);
        var span = new RecordingSpan(gate);
        var counters = new ServerCounters();
        try (var batcher = new StepBatcher(span, 3, Duration.ZERO, counters);
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            // One step holds the batching thread at the gate while seven more queue behind it.
            List<CompletableFuture<float[]>> results = new ArrayList<>();
            results.add(CompletableFuture.supplyAsync(() -> batcher.forward(new Held(span), new float[]{0}, 1, 0, true), clients));
            waitForEntered(span);
            for (int s = 1; s < 8; s++) {
                float[] in = {s};
                int id = s;
                results.add(CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(id), in, 1, 0, true), clients));
            }
            waitForQueued(batcher, 7);
            gate.countDown();
            for (int s = 0; s < 8; s++) {
                assertArrayEquals(new float[]{2 * s}, results.get(s).get(10, TimeUnit.SECONDS), "session " + s + "'s own result");
            }
            assertEquals(List.of(1, 3, 3, 1), span.batches.stream().map(List::size).toList(), "batches: " + span.batches);
            assertEquals(4, counters.batches.get());
            assertEquals(8, counters.batchedSteps.get());
            assertTrue(counters.computeNanos.get() > 0, "compute time counted per batch");
        }
    }

    @Test
    void prefillsRunAloneTakingTurnsWithDecodeBatches() throws Exception {
        var gate = new CountDownLatch(1);
        var span = new RecordingSpan(gate);
        try (var batcher = new StepBatcher(span, 8, Duration.ZERO, new ServerCounters());
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<CompletableFuture<float[]>> results = new ArrayList<>();
            results.add(CompletableFuture.supplyAsync(() -> batcher.forward(new Held(span), new float[]{1}, 1, 0, true), clients));
            waitForEntered(span);
            for (int s = 1; s <= 4; s++) {
                int id = s;
                boolean prefill = s % 2 == 1;
                results.add(CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(id),
                        prefill ? new float[]{1, 1, 1} : new float[]{1}, prefill ? 3 : 1, 0, true), clients));
            }
            waitForQueued(batcher, 4);
            gate.countDown();
            for (var r : results) r.get(10, TimeUnit.SECONDS);
            // After the first decode batch: a prefill, then the two waiting decodes together, then the other prefill.
            assertEquals(List.of(List.of(1), List.of(3), List.of(1, 1), List.of(3)), span.batches);
        }
    }

    /** With room for prefill rows, a prefill's turn takes the waiting decodes along, and prefills that fit ride with them. */
    @Test
    void prefillsShareBatchesWithinTheirRowCap() throws Exception {
        var gate = new CountDownLatch(1);
        var span = new RecordingSpan(gate);
        try (var batcher = new StepBatcher(span, 8, Duration.ZERO, 8, new ServerCounters());
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<CompletableFuture<float[]>> results = new ArrayList<>();
            results.add(CompletableFuture.supplyAsync(() -> batcher.forward(new Held(span), new float[]{1}, 1, 0, true), clients));
            waitForEntered(span);
            int[] sizes = {3, 1, 3, 1, 5};
            for (int s = 0; s < sizes.length; s++) {
                int id = s + 1, n = sizes[s];
                results.add(CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(id), new float[n], n, 0, true), clients));
                waitForQueued(batcher, s + 1); // in this order
            }
            gate.countDown();
            for (var r : results) r.get(10, TimeUnit.SECONDS);
            // The first prefill's turn: it, both decodes, and the second prefill (3 + 3 rows <= 8); the 5-row one next.
            assertEquals(List.of(List.of(1), List.of(3, 1, 1, 3), List.of(5)), span.batches);
        }
    }

    @Test
    void aFailingStepFailsAloneAndAFailingBatchFailsItsStepsOnly() throws Exception {
        var span = new RecordingSpan(new CountDownLatch(0));
        try (var batcher = new StepBatcher(span, 4, Duration.ofMillis(200), new ServerCounters());
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            var good = CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(1), new float[]{3}, 1, 0, true), clients);
            var bad = CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(2), new float[]{Float.NaN}, 1, 0, true), clients);
            assertArrayEquals(new float[]{6}, good.get(10, TimeUnit.SECONDS));
            var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> bad.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof SpanInputException, "the step's own error: " + e.getCause());
            span.fail = true;
            assertThrows(IllegalStateException.class, () -> batcher.forward(new Doubling(3), new float[]{1}, 1, 0, true));
            span.fail = false;
            assertArrayEquals(new float[]{2}, batcher.forward(new Doubling(4), new float[]{1}, 1, 0, true), "still serving");
        }
    }

    /**
     * No hand-off for a lone session: with no wait, a step that finds the span idle runs on its caller's
     * thread as the unbatched path (its session's forward, no batch), and is still counted as a batch of one.
     */
    @Test
    void aLoneStepRunsOnItsCallersThreadOutsideAnyBatch() {
        var span = new RecordingSpan(new CountDownLatch(0));
        var counters = new ServerCounters();
        try (var batcher = new StepBatcher(span, 8, Duration.ZERO, counters)) {
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(new float[]{2 * i}, batcher.forward(new Held(span), new float[]{i}, 1, i, true));
            }
            assertEquals(List.of(Thread.currentThread(), Thread.currentThread(), Thread.currentThread()), span.threads);
            assertEquals(3, span.entered.get(), "three lone steps, and no forwardBatch call (it would count too)");
            assertEquals(3, counters.batches.get());
            assertEquals(3, counters.batchedSteps.get());
        }
    }

    /**
     * With no wait set, after a batch of several a step waits for as many (a batch's sessions moving on
     * together through a swarm), up to a quarter of the last batch's compute (within the convoy wait's
     * cap); once the batches hold one step, a step runs at once.
     */
    @Test
    void afterBatchesOfSeveralAStepWaitsForAsManyThenALoneOneRunsAtOnce() throws Exception {
        var gate = new CountDownLatch(1);
        var span = new RecordingSpan(gate);
        span.computeMillis = 1200; // the first batch of two: a convoy wait of min(500, 1200 / 4) ms after it
        try (var batcher = new StepBatcher(span, 8, Duration.ZERO, 0, new ServerCounters(), Duration.ofMillis(500));
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            // A lone step at once, held while two more queue: they form a batch of two.
            var held = CompletableFuture.supplyAsync(() -> batcher.forward(new Held(span), new float[]{0}, 1, 0, true), clients);
            waitForEntered(span);
            var first = List.of(CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(1), new float[]{1}, 1, 0, true), clients),
                    CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(2), new float[]{2}, 1, 0, true), clients));
            waitForQueued(batcher, 2);
            gate.countDown();
            held.get(10, TimeUnit.SECONDS);
            for (var f : first) f.get(10, TimeUnit.SECONDS);
            assertEquals(List.of(List.of(1), List.of(1, 1)), span.batches);
            span.computeMillis = 0;

            // The convoy: session 1's next step waits for session 2's, 100 ms later, and they run as one batch.
            var a = CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(1), new float[]{1}, 1, 1, true), clients);
            Thread.sleep(100);
            var b = CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(2), new float[]{2}, 1, 1, true), clients);
            assertArrayEquals(new float[]{2}, a.get(10, TimeUnit.SECONDS));
            assertArrayEquals(new float[]{4}, b.get(10, TimeUnit.SECONDS));
            assertEquals(List.of(List.of(1), List.of(1, 1), List.of(1, 1)), span.batches, "one batch of both");

            // Session 2 gone: session 1's next step still expects a second (in a batch of one, after a
            // wait of a quarter of that quick batch's compute); the one after runs at once.
            assertArrayEquals(new float[]{6}, batcher.forward(new Doubling(1), new float[]{3}, 1, 2, true));
            assertEquals(4, span.batches.size(), "a batch of one: " + span.batches);
            waitForIdle(batcher);
            Thread.sleep(20); // and session 2 stepped longer ago than the window of sessions stepping lately (1 ms here)
            assertArrayEquals(new float[]{8}, batcher.forward(new Doubling(1), new float[]{4}, 1, 3, true));
            assertEquals(4, span.batches.size(), "alone again: at once, outside any batch");
        }
    }

    /**
     * A batch that split on its way is waited for whole again: after a lone step (the last batch held one),
     * a step waits for the other sessions that stepped lately, not only for as many as the last batch held.
     */
    @Test
    void aStepWaitsForTheSessionsSteppingLatelyNotTheLastBatchsFragment() throws Exception {
        var gate = new CountDownLatch(1);
        var span = new RecordingSpan(gate);
        try (var batcher = new StepBatcher(span, 8, Duration.ZERO, 0, new ServerCounters(), Duration.ofMillis(500));
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            // Session 1 steps alone for 600 ms: windows of 8 x 600 ms (at most 1 s), convoy waits of 150 ms.
            var held = CompletableFuture.supplyAsync(() -> batcher.forward(new Held(span), new float[]{0}, 1, 0, true), clients);
            waitForEntered(span);
            Thread.sleep(600);
            gate.countDown();
            held.get(10, TimeUnit.SECONDS);
            waitForIdle(batcher);
            // The last batch held one step, but session 1 stepped lately: session 2 waits, and session 3 joins it.
            var two = CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(2), new float[]{2}, 1, 0, true), clients);
            Thread.sleep(30);
            var three = CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(3), new float[]{3}, 1, 0, true), clients);
            assertArrayEquals(new float[]{4}, two.get(10, TimeUnit.SECONDS));
            assertArrayEquals(new float[]{6}, three.get(10, TimeUnit.SECONDS));
            assertEquals(List.of(List.of(1), List.of(1, 1)), span.batches, "sessions 2 and 3 in one batch");
        }
    }

    /**
     * Sessions that step but never arrive together are not waited for every step: once a wait for them
     * falls short, a lone step runs at once again.
     */
    @Test
    void sessionsThatNeverArriveTogetherAreNotWaitedForAgain() throws Exception {
        var gate = new CountDownLatch(1);
        var span = new RecordingSpan(gate);
        try (var batcher = new StepBatcher(span, 8, Duration.ZERO, 0, new ServerCounters(), Duration.ofMillis(500))) {
            var held = CompletableFuture.supplyAsync(() -> batcher.forward(new Held(span), new float[]{0}, 1, 0, true));
            waitForEntered(span);
            Thread.sleep(200);
            gate.countDown();
            held.get(10, TimeUnit.SECONDS);
            waitForIdle(batcher);
            span.computeMillis = 200; // session 1 still counts as stepping lately after this batch (8 x 200 ms)
            // Session 2 waits for session 1 (stepped lately), which does not come: a batch of one after the wait.
            assertArrayEquals(new float[]{4}, batcher.forward(new Doubling(2), new float[]{2}, 1, 0, true));
            assertEquals(2, span.batches.size(), "a batch of one after the wait: " + span.batches);
            waitForIdle(batcher);
            // The next runs at once, outside any batch, though session 1 still counts as stepping lately.
            assertArrayEquals(new float[]{6}, batcher.forward(new Doubling(2), new float[]{3}, 1, 1, true));
            assertEquals(2, span.batches.size(), "at once: " + span.batches);
        }
    }

    @Test
    void aWaitGathersStepsThatArriveWithinIt() throws Exception {
        var span = new RecordingSpan(new CountDownLatch(0));
        try (var batcher = new StepBatcher(span, 2, Duration.ofSeconds(5), new ServerCounters());
             ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            long started = System.nanoTime();
            var first = CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(1), new float[]{1}, 1, 0, true), clients);
            Thread.sleep(50);
            var second = CompletableFuture.supplyAsync(() -> batcher.forward(new Doubling(2), new float[]{2}, 1, 0, true), clients);
            first.get(10, TimeUnit.SECONDS);
            second.get(10, TimeUnit.SECONDS);
            assertEquals(List.of(List.of(1, 1)), span.batches, "one batch of both");
            assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(4), "a full batch starts without waiting out the 5 s");
        }
    }

    /** Until the first batch is inside the span, held at the gate. */
    private static void waitForEntered(RecordingSpan span) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (span.entered.get() < 1 && System.nanoTime() < end) Thread.sleep(1);
        assertEquals(1, span.entered.get());
    }

    private static void waitForIdle(StepBatcher b) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!b.idle() && System.nanoTime() < end) Thread.sleep(1);
        assertTrue(b.idle(), "the batcher is idle");
    }

    /** Until the batcher is idle: a batch's compute time is noted just after its steps get their results. */
    private static void awaitIdle(StepBatcher b) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!b.idle() && System.nanoTime() < end) Thread.sleep(1);
        assertTrue(b.idle(), "the batcher is still busy");
    }

    private static void waitForQueued(StepBatcher b, int n) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (b.queued() < n && System.nanoTime() < end) Thread.sleep(1);
        assertEquals(n, b.queued(), "steps queued");
    }

}

package dev.catena.ffm.ggml;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Computes whose threads would exceed the processors queue; those that fit run side by side. */
class CpuComputeGateTest {
    private static final int PROCESSORS = Runtime.getRuntime().availableProcessors();

    @Test
    void computesUsingEveryProcessorRunOneAtATime() throws Exception {
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        try (var pool = Executors.newFixedThreadPool(4)) {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                // More threads than processors is clamped to all of them, not a wait that never ends.
                int threads = i % 2 == 0 ? PROCESSORS : PROCESSORS + 3;
                done.add(pool.submit(() -> {
                    for (int round = 0; round < 5; round++) {
                        int permits = CpuComputeGate.acquire(threads);
                        try {
                            most.accumulateAndGet(inside.incrementAndGet(), Math::max);
                            Thread.sleep(5);
                            inside.decrementAndGet();
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        } finally {
                            CpuComputeGate.release(permits);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) f.get(30, TimeUnit.SECONDS);
        }
        assertEquals(1, most.get(), "computes that each take every processor overlapped");
    }

    @Test
    void aComputeWithinItsThreadsTurnDoesNotWaitAgainAndOthersWaitForTheTurn() throws Exception {
        CountDownLatch turnTaken = new CountDownLatch(1);
        CountDownLatch endTurn = new CountDownLatch(1);
        CountDownLatch otherIn = new CountDownLatch(1);
        // Daemon threads, not closed: a compute that hangs in the gate must fail the test, not hang the build.
        var pool = Executors.newFixedThreadPool(2, Thread.ofPlatform().daemon().factory());
        try {
            Future<Integer> holder = pool.submit(() -> {
                int turn = CpuComputeGate.acquire(PROCESSORS);
                try {
                    int nested = CpuComputeGate.acquire(1); // every permit is this thread's: a wait would never end
                    CpuComputeGate.release(nested);
                    turnTaken.countDown();
                    endTurn.await(10, TimeUnit.SECONDS);
                    return nested;
                } finally {
                    CpuComputeGate.release(turn);
                }
            });
            assertTrue(turnTaken.await(10, TimeUnit.SECONDS), "a compute within its thread's turn waited for the processors");
            pool.submit(() -> {
                int permits = CpuComputeGate.acquire(1);
                otherIn.countDown();
                CpuComputeGate.release(permits);
            });
            assertFalse(otherIn.await(200, TimeUnit.MILLISECONDS), "another thread computed during the turn");
            endTurn.countDown();
            assertEquals(0, holder.get(10, TimeUnit.SECONDS), "a compute within its thread's turn took permits of its own");
            assertTrue(otherIn.await(10, TimeUnit.SECONDS), "the waiting compute never ran after the turn ended");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void waitingComputesGoByRankThenArrivalAndOneWaitingLongGoesFirst() throws Exception {
        // Ranks 7, 3, 3, 5 queue (in that order) while one compute holds every processor: 3, 3, 5, 7 follow.
        assertEquals(List.of(3, 3, 5, 7), orderAfterAHold(List.of(7, 3, 3, 5), 0));
        // Queued behind the hold long enough to have aged, rank 9 goes before the rank 1 that came after it.
        assertEquals(List.of(9, 1), orderAfterAHold(List.of(9, 1), CpuComputeGate.AGED_NANOS / 1_000_000 + 100));
    }

    /** The order in which computes of {@code ranks}, queued one after another behind a hold of every processor, got them. */
    private static List<Integer> orderAfterAHold(List<Integer> ranks, long holdMoreMillis) throws Exception {
        List<Integer> order = java.util.Collections.synchronizedList(new ArrayList<>());
        var pool = Executors.newFixedThreadPool(ranks.size() + 1, Thread.ofPlatform().daemon().factory());
        try {
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Future<?> holder = pool.submit(() -> {
                int permits = CpuComputeGate.acquire(PROCESSORS, 0);
                held.countDown();
                release.await(10, TimeUnit.SECONDS);
                CpuComputeGate.release(permits);
                return null;
            });
            assertTrue(held.await(10, TimeUnit.SECONDS));
            List<Future<?>> waiters = new ArrayList<>();
            for (int rank : ranks) {
                waiters.add(pool.submit(() -> {
                    int permits = CpuComputeGate.acquire(PROCESSORS, rank);
                    order.add(rank);
                    CpuComputeGate.release(permits);
                    return null;
                }));
                int queued = waiters.size();
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10); // queued one after another
                while (CpuComputeGate.waiting() < queued && System.nanoTime() < end) Thread.sleep(1);
                assertEquals(queued, CpuComputeGate.waiting(), "computes queued behind the hold");
            }
            Thread.sleep(holdMoreMillis);
            release.countDown();
            holder.get(10, TimeUnit.SECONDS);
            for (Future<?> w : waiters) w.get(10, TimeUnit.SECONDS);
            return List.copyOf(order);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void ranksBelowAreBusyWhileTheyHoldTheProcessorsAndJustAfter() throws Exception {
        var pool = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().factory());
        CpuComputeGate.ranked(CpuComputeGate.LAST, 5); // two spans open: blocks from 5 and from 6
        CpuComputeGate.ranked(CpuComputeGate.LAST, 6);
        try {
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Future<?> holder = pool.submit(() -> {
                int permits = CpuComputeGate.acquire(1, 5);
                held.countDown();
                release.await(10, TimeUnit.SECONDS);
                CpuComputeGate.release(permits);
                return null;
            });
            assertTrue(held.await(10, TimeUnit.SECONDS));
            boolean busyBefore6 = CpuComputeGate.busyBefore(6, PROCESSORS, 0);
            boolean busyBefore5 = CpuComputeGate.busyBefore(5, PROCESSORS, 0);
            // With a processor still free, a one-thread compute of rank 6 could start now: nothing to wait for.
            boolean busyForOneThread = PROCESSORS >= 2 && CpuComputeGate.busyBefore(6, 1, 0);
            release.countDown();
            assertTrue(busyBefore6, "rank 5 computes and rank 6 could not start now: busy before rank 6");
            assertFalse(busyBefore5, "no rank below 5 computes");
            assertFalse(busyForOneThread, "a compute that could start now was told to wait");
            holder.get(10, TimeUnit.SECONDS);
            assertTrue(CpuComputeGate.busyBefore(6, 1, TimeUnit.SECONDS.toNanos(10)), "rank 5 computed within the last 10 s");
            Thread.sleep(5);
            assertFalse(CpuComputeGate.busyBefore(6, 1, TimeUnit.MILLISECONDS.toNanos(1)), "rank 5 is done and long enough ago");
        } finally {
            pool.shutdownNow();
            CpuComputeGate.ranked(5, CpuComputeGate.LAST);
            CpuComputeGate.ranked(6, CpuComputeGate.LAST);
        }
    }

    @Test
    void forTheFirstRankOpenTheRanksAfterItCountAsBefore() {
        // Negative ranks: below every span's (a first block), so -30 is the first rank open whatever else is.
        for (int rank : new int[]{-30, -20, -10}) CpuComputeGate.ranked(CpuComputeGate.LAST, rank);
        try {
            int permits = CpuComputeGate.acquire(1, -10);
            try {
                assertTrue(CpuComputeGate.busyBefore(-30, PROCESSORS, 0), "the first rank's sessions come back from the later ones");
                assertFalse(CpuComputeGate.busyBefore(-20, PROCESSORS, 0), "-20 is not the first rank: only -30 counts, and it is idle");
            } finally {
                CpuComputeGate.release(permits);
            }
        } finally {
            for (int rank : new int[]{-30, -20, -10}) CpuComputeGate.ranked(rank, CpuComputeGate.LAST);
        }
    }

    @Test
    void permitsAreGivenBackOnceByTheThreadThatTookThem() throws Exception {
        int permits = CpuComputeGate.acquire(1);
        var other = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().factory());
        try {
            var elsewhere = other.submit(() -> {
                CpuComputeGate.release(permits);
                return null;
            });
            var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> elsewhere.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof IllegalStateException, "another thread gave back permits it never took");
        } finally {
            other.shutdownNow();
            CpuComputeGate.release(permits);
        }
        assertThrows(IllegalStateException.class, () -> CpuComputeGate.release(permits), "given back twice");
    }

    @Test
    void computesThatFitTheProcessorsRunSideBySide() throws Exception {
        int side = Math.min(PROCESSORS, 4);
        CountDownLatch allInside = new CountDownLatch(side);
        try (var pool = Executors.newFixedThreadPool(side)) {
            List<Future<Boolean>> met = new ArrayList<>();
            for (int i = 0; i < side; i++) {
                met.add(pool.submit(() -> {
                    int permits = CpuComputeGate.acquire(1);
                    try {
                        allInside.countDown();
                        return allInside.await(10, TimeUnit.SECONDS);
                    } finally {
                        CpuComputeGate.release(permits);
                    }
                }));
            }
            for (Future<Boolean> f : met) assertTrue(f.get(30, TimeUnit.SECONDS), side + " one-thread computes did not run at once");
        }
    }
}

package dev.catena.ffm.ggml;

import java.util.Comparator;
import java.util.PriorityQueue;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Keeps the ggml CPU threads computing spans' graphs at once in this process within the machine's
 * processors (model heads are not held back: {@link GgmlBackend#computeUngated}).
 *
 * <p>ggml's CPU workers spin at their barriers. When several spans of one process compute together
 * (a local swarm, or one process hosting several servers, serving many clients) with more threads in
 * all than processors, a worker spins while the sibling it waits for is descheduled, and every
 * barrier costs a time slice: 8 clients through 3 two-thread servers on 2 processors ran at 0.4x
 * one client's tokens/s. A compute takes as many permits as it has threads (at most all of them),
 * so computes that fit run side by side and the rest queue. A long compute (a long prompt's prefill,
 * a spot check's replay) holds its share until it ends, where spans used to share the processors with it.
 *
 * <p>The queue goes by rank, lowest first, then by arrival: a span's rank is its first block, so the
 * spans early in a chain compute before those after them. Sessions then pile up at the later spans
 * while the earlier ones work, and move on together as one batch; in arrival order, two groups of
 * sessions chased each other through the servers of a process, one compute apart, and never met.
 * A compute that has waited {@link #AGED_NANOS} goes before every rank, so none waits without end.
 * Which ranks are busy ({@link #busyBefore}) tells a batching server whether its sessions' steps are
 * still on their way through earlier spans.
 *
 * <p>The permits are {@value #PROPERTY} when set (0 turns the gate off), else the processors the
 * JVM sees.
 */
public final class CpuComputeGate {
    /** System property: how many ggml CPU threads may compute at once in this process; 0 for no limit. */
    public static final String PROPERTY = "catena.cpu.computeThreads";
    /** The rank of computes that are not a span's (they queue after every span's). */
    public static final int LAST = Integer.MAX_VALUE;
    /** A compute that has waited this long goes first, whatever its rank. */
    static final long AGED_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

    private static final int PERMITS = Integer.getInteger(PROPERTY, Runtime.getRuntime().availableProcessors());
    private static final ReentrantLock LOCK = new ReentrantLock();
    private static final Condition CHANGED = LOCK.newCondition();
    private static final PriorityQueue<Waiter> WAITING = new PriorityQueue<>(
            Comparator.comparingInt(Waiter::rank).thenComparingLong(Waiter::arrival));
    private static int free = PERMITS; // guarded by LOCK
    private static long arrivals; // guarded by LOCK
    /** Computes holding or waiting for processors, counted by rank; guarded by LOCK. */
    private static final TreeMap<Integer, Integer> ACTIVE = new TreeMap<>();
    /** The ranks of the backends open in this process (a span's first block), counted; guarded by LOCK. */
    private static final TreeMap<Integer, Integer> RANKED = new TreeMap<>();
    /** When a compute of each rank last gave its processors back; guarded by LOCK. */
    private static final TreeMap<Integer, Long> ENDED = new TreeMap<>();
    /**
     * The permits and rank of the current thread's hold (a turn taken before its compute: {@link
     * GgmlBackend#awaitTurn}).
     */
    private static final ThreadLocal<int[]> HELD = ThreadLocal.withInitial(() -> new int[2]);

    private record Waiter(int rank, long arrival, long since, int permits) {
    }

    private CpuComputeGate() {
    }

    /** {@link #acquire(int, int)} at the last rank. */
    static int acquire(int threads) {
        return acquire(threads, LAST);
    }

    /**
     * Waits until {@code threads} of the processors are free and no compute of a lower rank (or one waiting
     * longer than {@link #AGED_NANOS}) waits before it; returns the permits to {@link #release}. A thread
     * that already holds permits takes none (0): its compute runs within the turn it holds.
     */
    static int acquire(int threads, int rank) {
        int[] held = HELD.get();
        if (PERMITS <= 0 || held[0] > 0) {
            return 0;
        }
        int permits = permitsFor(threads);
        LOCK.lock();
        try {
            ACTIVE.merge(rank, 1, Integer::sum);
            if (WAITING.isEmpty() && free >= permits) {
                free -= permits;
            } else {
                Waiter me = new Waiter(rank, arrivals++, System.nanoTime(), permits);
                WAITING.add(me);
                boolean interrupted = false;
                while (first() != me || free < permits) {
                    try {
                        CHANGED.awaitNanos(AGED_NANOS); // a waiter that ages goes first: look again then
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
                WAITING.remove(me);
                free -= permits;
                CHANGED.signalAll(); // the next first may fit beside this one
            }
        } finally {
            LOCK.unlock();
        }
        held[0] = permits;
        held[1] = rank;
        return permits;
    }

    /** A backend's rank changed from {@code from} to {@code to} ({@link #LAST}: none, or closed). */
    static void ranked(int from, int to) {
        LOCK.lock();
        try {
            if (from != LAST) {
                RANKED.computeIfPresent(from, (r, n) -> n == 1 ? null : n - 1);
                if (!RANKED.containsKey(from)) {
                    ENDED.remove(from);
                }
            }
            if (to != LAST) {
                RANKED.merge(to, 1, Integer::sum);
            }
        } finally {
            LOCK.unlock();
        }
    }

    /**
     * Whether computes of a rank below {@code rank} hold processors or wait for them while a compute of {@code
     * threads} threads could not start now, or gave them back within {@code graceNanos} (their outputs may be on
     * their way to the next span). For the lowest rank of the open backends, the ranks above it count instead:
     * the sessions it serves come back from them.
     */
    static boolean busyBefore(int rank, int threads, long graceNanos) {
        if (PERMITS <= 0) {
            return false;
        }
        LOCK.lock();
        try {
            boolean contended = free < permitsFor(threads) || !WAITING.isEmpty();
            // The first rank of the process's spans has none before it: its steps come back from the last ones (a
            // chain's sessions return from its last span to its first), so those count as before it.
            boolean first = RANKED.headMap(rank).isEmpty() && ACTIVE.headMap(rank).isEmpty();
            var before = first ? ACTIVE.tailMap(rank, false).headMap(LAST) : ACTIVE.headMap(rank);
            if (contended && !before.isEmpty()) {
                return true;
            }
            long now = System.nanoTime();
            for (long ended : (first ? ENDED.tailMap(rank, false).headMap(LAST) : ENDED.headMap(rank)).values()) {
                if (now - ended < graceNanos) {
                    return true;
                }
            }
            return false;
        } finally {
            LOCK.unlock();
        }
    }

    /** The permits a compute of {@code threads} threads takes: one a thread, at most all of them. */
    private static int permitsFor(int threads) {
        return Math.min(Math.max(threads, 1), PERMITS);
    }

    /** The waiter that goes next: the one waiting longest once any has aged, else the lowest rank. */
    private static Waiter first() {
        long now = System.nanoTime();
        Waiter oldest = null;
        for (Waiter w : WAITING) {
            if (now - w.since() >= AGED_NANOS && (oldest == null || w.arrival() < oldest.arrival())) {
                oldest = w;
            }
        }
        return oldest != null ? oldest : WAITING.peek();
    }

    /** Computes waiting for processors now (for tests). */
    static int waiting() {
        LOCK.lock();
        try {
            return WAITING.size();
        } finally {
            LOCK.unlock();
        }
    }

    /** Gives back {@code permits} that this thread took ({@link #acquire}); 0 does nothing. */
    static void release(int permits) {
        if (permits > 0) {
            int[] held = HELD.get();
            if (held[0] != permits) {
                throw new IllegalStateException("releasing " + permits + " permits, this thread holds " + held[0]);
            }
            held[0] = 0;
            LOCK.lock();
            try {
                ACTIVE.computeIfPresent(held[1], (r, n) -> n == 1 ? null : n - 1);
                ENDED.put(held[1], System.nanoTime());
                free += permits;
                CHANGED.signalAll();
            } finally {
                LOCK.unlock();
            }
        }
    }
}

package dev.catena.ffm.ggml;

import java.util.concurrent.Semaphore;

/**
 * Keeps the ggml CPU threads computing spans' graphs at once in this process within the machine's
 * processors (model heads are not held back: {@link GgmlBackend#computeUngated}).
 *
 * <p>ggml's CPU workers spin at their barriers. When several spans of one process compute together
 * (a local swarm, or one process hosting several servers, serving many clients) with more threads in
 * all than processors, a worker spins while the sibling it waits for is descheduled, and every
 * barrier costs a time slice: 8 clients through 3 two-thread servers on 2 processors ran at 0.4x
 * one client's tokens/s. A compute takes as many permits as it has threads (at most all of them),
 * so computes that fit run side by side and the rest queue, fairly, in arrival order. A long compute
 * (a long prompt's prefill, a spot check's replay) holds its share until it ends, where spans used to
 * share the processors with it.
 *
 * <p>The permits are {@value #PROPERTY} when set (0 turns the gate off), else the processors the
 * JVM sees.
 */
public final class CpuComputeGate {
    /** System property: how many ggml CPU threads may compute at once in this process; 0 for no limit. */
    public static final String PROPERTY = "catena.cpu.computeThreads";

    private static final int PERMITS = Integer.getInteger(PROPERTY, Runtime.getRuntime().availableProcessors());
    private static final Semaphore GATE = PERMITS > 0 ? new Semaphore(PERMITS, true) : null;
    /** Permits the current thread holds (a turn taken before its compute: {@link GgmlBackend#awaitTurn}). */
    private static final ThreadLocal<int[]> HELD = ThreadLocal.withInitial(() -> new int[1]);

    private CpuComputeGate() {
    }

    /**
     * Waits until {@code threads} of the processors are free; returns the permits to {@link #release}. A thread
     * that already holds permits takes none (0): its compute runs within the turn it holds.
     */
    static int acquire(int threads) {
        if (GATE == null) {
            return 0;
        }
        int[] held = HELD.get();
        if (held[0] > 0) {
            return 0;
        }
        int permits = Math.min(Math.max(threads, 1), PERMITS);
        GATE.acquireUninterruptibly(permits);
        held[0] = permits;
        return permits;
    }

    static void release(int permits) {
        if (permits > 0) {
            HELD.get()[0] = 0;
            GATE.release(permits);
        }
    }
}

package dev.catena.core.server;

import dev.catena.transport.proto.TensorMeta;

import java.util.function.BooleanSupplier;

/**
 * Where a session's input runs: on its executor, or on the transport's thread that received it when the
 * session's steps are cheap and it is idle ({@link ServerSession#runsInline}), which saves a hand-off to a
 * compute thread on the hop's critical path.
 */
final class InlineSteps {
    /** Whether this thread is running a session's input already: never one inside another. */
    private static final ThreadLocal<Boolean> RUNNING_INLINE = ThreadLocal.withInitial(() -> Boolean.FALSE);

    /**
     * Per transport thread: at most this much inline work in each window, so that many sessions' steps read at
     * once (one connection may hold dozens) do not hold the thread, and every connection it serves, for long.
     */
    static final long BUDGET_NANOS = 2_000_000;
    static final long BUDGET_WINDOW_NANOS = 10_000_000;
    /** This thread's window start and the inline time spent in it. */
    private static final ThreadLocal<long[]> BUDGET = ThreadLocal.withInitial(() -> new long[2]);

    private InlineSteps() {
    }

    /** A decode step's input (a prompt's may compute for long, which would hold the transport's thread). */
    static boolean oneRow(TensorMeta meta) {
        return meta.getShapeCount() > 0 && meta.getShape(0) == 1;
    }

    /**
     * Runs {@code task} on {@code entry}'s executor; or here, when the session runs inline, is idle, and
     * {@code here} (a decode step's input, not a stale one: a stale input may wait for a push's signature,
     * which this thread would have to read).
     */
    static void run(SessionTable.Entry entry, Runnable task, BooleanSupplier here) {
        long[] budget = BUDGET.get();
        long now = System.nanoTime();
        if (now - budget[0] > BUDGET_WINDOW_NANOS) {
            budget[0] = now;
            budget[1] = 0;
        }
        if (!entry.session().runsInline() || budget[1] >= BUDGET_NANOS) {
            entry.executor().execute(task);
            return;
        }
        runHereIfIdle(entry, task, here);
        budget[1] += System.nanoTime() - now;
    }

    /**
     * A cheap control task (a ring's acknowledgement): here when the session is idle and {@code here}, whether
     * or not its steps run inline (no compute thread woken for it); else queued behind the session's tasks.
     */
    static void control(SessionTable.Entry entry, Runnable task, BooleanSupplier here) {
        runHereIfIdle(entry, task, here);
    }

    private static void runHereIfIdle(SessionTable.Entry entry, Runnable task, BooleanSupplier here) {
        if (RUNNING_INLINE.get()) {
            entry.executor().execute(task);
            return;
        }
        RUNNING_INLINE.set(Boolean.TRUE);
        try {
            entry.executor().runHereIfIdle(task, here);
        } finally {
            RUNNING_INLINE.set(Boolean.FALSE);
        }
    }
}

package dev.catena.core.server;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;

/**
 * Runs tasks one at a time, in submission order, on a shared pool: one session's steps never overlap. A task
 * that throws is logged and the next runs: one failure must not wedge the session (its close, which frees its
 * KV, is a task too).
 */
final class SerialExecutor implements Executor {
    private static final System.Logger LOG = System.getLogger(SerialExecutor.class.getName());
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private final Executor pool;
    private boolean running;

    SerialExecutor(Executor pool) {
        this.pool = pool;
    }

    @Override
    public void execute(Runnable task) {
        synchronized (this) {
            tasks.add(task);
            if (running) {
                return;
            }
            running = true;
        }
        try {
            pool.execute(this::drain);
        } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
            drain(); // the pool is closing: run here, so that no task (e.g. freeing a session's KV) is lost
        }
    }

    /**
     * Runs {@code task} on the calling thread when nothing of this executor's is running or queued and
     * {@code here} says so (asked while no task runs, so it may read the tasks' state); otherwise queues
     * it as {@link #execute} does. Tasks queued meanwhile go to the pool after it.
     */
    void runHereIfIdle(Runnable task, java.util.function.BooleanSupplier here) {
        synchronized (this) {
            if (running || !here.getAsBoolean()) {
                tasks.add(task);
                if (running) return;
                running = true;
                task = null;
            } else {
                running = true;
            }
        }
        if (task != null) {
            runSafely(task);
            synchronized (this) {
                if (tasks.isEmpty()) {
                    running = false;
                    return;
                }
            }
        }
        try {
            pool.execute(this::drain);
        } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
            drain();
        }
    }

    private void drain() {
        while (true) {
            Runnable next;
            synchronized (this) {
                next = tasks.poll();
                if (next == null) {
                    running = false;
                    return;
                }
            }
            runSafely(next);
        }
    }

    private static void runSafely(Runnable task) {
        try {
            task.run();
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.WARNING, "a session's task failed; its next tasks run", t);
        }
    }
}

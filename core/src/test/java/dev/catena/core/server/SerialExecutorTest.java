package dev.catena.core.server;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The inline path of a session's executor: here when idle and asked, queued in order otherwise, never two at once. */
class SerialExecutorTest {

    @Test
    void anIdleExecutorRunsTheTaskHereOnlyWhenAsked() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            var serial = new SerialExecutor(pool);
            Thread caller = Thread.currentThread();
            Thread[] ran = new Thread[2];
            serial.runHereIfIdle(() -> ran[0] = Thread.currentThread(), () -> true);
            assertSame(caller, ran[0]);
            var done = new CountDownLatch(1);
            serial.runHereIfIdle(() -> { ran[1] = Thread.currentThread(); done.countDown(); }, () -> false);
            assertTrue(done.await(5, TimeUnit.SECONDS));
            assertNotSame(caller, ran[1], "a task not allowed here runs on the pool");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aBusyExecutorQueuesAndKeepsTheOrder() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            var serial = new SerialExecutor(pool);
            List<String> order = new CopyOnWriteArrayList<>();
            var release = new CountDownLatch(1);
            var started = new CountDownLatch(1);
            serial.execute(() -> {
                started.countDown();
                await(release);
                order.add("first");
            });
            assertTrue(started.await(5, TimeUnit.SECONDS));
            serial.runHereIfIdle(() -> order.add("second"), () -> true); // busy: queued, not run here
            assertEquals(List.of(), order);
            var done = new CountDownLatch(1);
            serial.execute(() -> { order.add("third"); done.countDown(); });
            release.countDown();
            assertTrue(done.await(5, TimeUnit.SECONDS));
            assertEquals(List.of("first", "second", "third"), order);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void tasksQueuedDuringAnInlineTaskRunAfterItOnThePool() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            var serial = new SerialExecutor(pool);
            List<String> order = new CopyOnWriteArrayList<>();
            var done = new CountDownLatch(1);
            serial.runHereIfIdle(() -> {
                serial.execute(() -> { order.add("queued"); done.countDown(); }); // while the inline one runs
                order.add("inline");
            }, () -> true);
            assertTrue(done.await(5, TimeUnit.SECONDS));
            assertEquals(List.of("inline", "queued"), order);
        } finally {
            pool.shutdownNow();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aTaskThatThrowsDoesNotStopTheNextOnes() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            var serial = new SerialExecutor(pool);
            var ran = new CountDownLatch(2);
            serial.execute(() -> { throw new IllegalStateException("a failing step (expected in this test)"); });
            serial.execute(ran::countDown); // e.g. the session's close, which frees its KV
            serial.runHereIfIdle(() -> { throw new IllegalStateException("a failing inline step (expected in this test)"); }, () -> true);
            serial.execute(ran::countDown);
            assertTrue(ran.await(5, TimeUnit.SECONDS), "the tasks after a failing one still run, here and on the pool");
        } finally {
            pool.shutdownNow();
        }
    }
}

package dev.catena.core.directory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Where clients find servers. Implementations now: {@link InMemoryDirectory} (tests, embedding),
 * {@link StaticDirectory} (a fixed list) and {@link FileDirectory} (a shared file); a distributed
 * one can implement the same interface. Thread-safe.
 */
public interface Directory {

    /** Adds or refreshes a server's record. */
    void announce(ServerRecord record);

    /** Removes a server. */
    void withdraw(String address);

    /** The online servers of {@code modelId}. */
    List<ServerRecord> servers(String modelId);

    /**
     * Calls {@code onChange} with the model's servers now and after each change, on a thread of its
     * own; this default polls every {@code every} (a distributed directory may push instead). A
     * failing lookup is skipped and retried at the next poll. Close the handle to stop.
     */
    default AutoCloseable watch(String modelId, Duration every, Consumer<List<ServerRecord>> onChange) {
        var poller = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("catena-directory-watch").factory());
        var last = new AtomicReference<List<ServerRecord>>();
        poller.scheduleWithFixedDelay(() -> {
            try {
                List<ServerRecord> now = servers(modelId);
                if (!now.equals(last.getAndSet(now))) {
                    onChange.accept(now);
                }
            } catch (RuntimeException e) {
                System.getLogger(Directory.class.getName()).log(System.Logger.Level.WARNING, "directory lookup failed: " + e.getMessage());
            }
        }, 0, Math.max(1, every.toMillis()), TimeUnit.MILLISECONDS);
        return poller::shutdownNow;
    }
}

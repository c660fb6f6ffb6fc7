package dev.catena.api.directory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Where servers announce themselves and clients find them. Plugins implement it (through a
 * {@link DirectoryProvider}, found by URI scheme); the embedded ones are a shared file, a fixed
 * list and an in-process map. Thread-safe.
 *
 * <p>Records live on a lease: a record announced through a directory lives while that directory
 * stays open (a distributed one keeps a lease alive with the TTL of {@link DirectoryOptions}); it
 * is removed by {@link #withdraw}, at {@link #close}, or, when the process dies, once the lease
 * expires. Directories without leases (a file) keep a dead server's record until it is withdrawn;
 * clients ban servers that do not answer.
 */
public interface Directory extends AutoCloseable {

    /** Adds a server's record, or replaces it (a refresh), on this directory's lease. */
    void announce(ServerRecord record);

    /** Removes a server's record. */
    void withdraw(String address);

    /**
     * The online servers of {@code modelId}, sorted by address. A directory that watches may answer
     * from what it holds (no round trip), so this is cheap enough to call per route plan.
     */
    List<ServerRecord> servers(String modelId);

    /**
     * The model's online servers read anew from the directory's store, for a client about to fail for want
     * of a server: a watched view can lag behind the store (events in flight, a watch being re-opened on
     * another etcd member). Later {@link #servers} calls answer from what this read. This default, for
     * directories that read their store on every lookup, is {@link #servers}.
     */
    default List<ServerRecord> reread(String modelId) {
        return servers(modelId);
    }

    /**
     * Calls {@code onChange} with the model's online servers now and after each change, on a
     * thread of the directory's; never twice in a row with the same list. Close the handle to stop.
     * This default polls {@link #servers} every 500 ms; a distributed directory pushes instead.
     */
    default Watch watch(String modelId, Consumer<List<ServerRecord>> onChange) {
        return watch(modelId, Duration.ofMillis(500), onChange);
    }

    /** {@link #watch(String, Consumer)} by polling every {@code every}; a failing lookup is retried at the next poll. */
    default Watch watch(String modelId, Duration every, Consumer<List<ServerRecord>> onChange) {
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

    /**
     * Every model's online servers (for status displays), by model id. Directories that cannot
     * list every model answer only for the models they were asked about.
     */
    default java.util.Map<String, List<ServerRecord>> allServers() {
        return java.util.Map.of();
    }

    /** Withdraws what this directory announced (revokes its lease) and frees its connections. Idempotent. */
    @Override
    default void close() {
    }

    /** A running watch; closing it stops the calls. */
    @FunctionalInterface
    interface Watch extends AutoCloseable {
        @Override
        void close();
    }
}

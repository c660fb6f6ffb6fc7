package dev.catena.core.server;

import dev.catena.transport.proto.ErrorCode;
import dev.catena.transport.spi.Connection;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * A server's open sessions: KV admission against the budget, one serial executor per session on
 * the shared compute pool, and the sweep that closes sessions idle past the timeout.
 */
final class SessionTable {
    private static final System.Logger LOG = System.getLogger(SessionTable.class.getName());

    /**
     * An open session, the executor its steps run on, one at a time, and the largest frame a step
     * or push for it can be.
     */
    record Entry(ServerSession session, SerialExecutor executor, long maxFrameBytes) {
    }

    /** Why a session was not admitted, as the client is told. */
    static final class Refused extends Exception {
        final ErrorCode code;

        Refused(ErrorCode code, String message) {
            super(message, null, false, false);
            this.code = code;
        }
    }

    private final long kvBudgetBytes;
    private final Duration idleTimeout;
    private final BooleanSupplier closed;
    private final Map<String, Entry> sessions = new ConcurrentHashMap<>();
    private final ExecutorService compute;
    private final ScheduledExecutorService sweeper;
    private long kvReserved; // guarded by this
    /** The largest {@link Entry#maxFrameBytes} of the open sessions; recomputed under this lock. */
    private volatile long largestFrameBytes;

    /** @param closed whether the server is closing: no session is admitted then */
    SessionTable(long kvBudgetBytes, Duration idleTimeout, int computeThreads, BooleanSupplier closed) {
        this.kvBudgetBytes = kvBudgetBytes;
        this.idleTimeout = idleTimeout;
        this.closed = closed;
        this.compute = Executors.newFixedThreadPool(computeThreads, Thread.ofPlatform().daemon().name("catena-compute-", 0).factory());
        this.sweeper = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("catena-sweeper").factory());
        long period = Math.max(50, idleTimeout.toMillis() / 4);
        sweeper.scheduleAtFixedRate(this::closeIdleSessions, period, period, TimeUnit.MILLISECONDS);
    }

    /**
     * Reserves {@code needed} KV bytes and opens a session with them, then accounts what it really
     * allocated; releases the reservation when the session cannot be opened.
     *
     * @throws Refused when the server is closing, the budget has no room, or the allocation fails
     */
    ServerSession admit(long needed, int maxLength, long maxFrameBytes, Supplier<ServerSession> open) throws Refused {
        synchronized (this) {
            if (closed.getAsBoolean()) {
                throw new Refused(ErrorCode.INTERNAL, "server is closing");
            }
            if (kvReserved + needed > kvBudgetBytes) {
                throw new Refused(ErrorCode.OUT_OF_MEMORY, "a session of " + maxLength + " tokens needs " + needed
                        + " bytes of KV cache; " + (kvBudgetBytes - kvReserved) + " of " + kvBudgetBytes + " are free");
            }
            kvReserved += needed;
        }
        ServerSession s;
        try {
            s = open.get();
            synchronized (this) {
                kvReserved += s.kvBytes() - needed; // account what was really allocated
            }
        } catch (RuntimeException e) {
            synchronized (this) {
                kvReserved -= needed;
            }
            throw new Refused(ErrorCode.OUT_OF_MEMORY, "cannot allocate the KV cache: " + e.getMessage());
        }
        sessions.put(s.idHex, new Entry(s, new SerialExecutor(compute), maxFrameBytes));
        recomputeLargestFrame();
        return s;
    }

    /** The open session with this id, or null. */
    Entry get(String idHex) {
        return sessions.get(idHex);
    }

    /** The largest frame any open session's step or push can be (0 when none is open). */
    long largestFrameBytes() {
        return largestFrameBytes;
    }

    private synchronized void recomputeLargestFrame() {
        largestFrameBytes = sessions.values().stream().mapToLong(Entry::maxFrameBytes).max().orElse(0);
    }

    int size() {
        return sessions.size();
    }

    List<byte[]> ids() {
        return sessions.values().stream().map(e -> e.session().id.clone()).toList();
    }

    synchronized long kvBytesReserved() {
        return kvReserved;
    }

    long kvBudgetBytes() {
        return kvBudgetBytes;
    }

    private void closeIdleSessions() {
        long limit = System.nanoTime() - idleTimeout.toNanos();
        for (Entry e : sessions.values()) {
            if (e.session().lastActivityNanos < limit) {
                LOG.log(System.Logger.Level.INFO, "closing idle session {0}", e.session().idHex);
                close(e.session().idHex);
            }
        }
    }

    /** Closes the sessions of a client whose connection closed: results could no longer reach it. */
    void closeSessionsOf(Connection client) {
        sessions.forEach((id, e) -> {
            if (e.session().isClient(client)) close(id);
        });
    }

    /** Closes a session after any step already queued for it; completes when its KV is freed. */
    CompletableFuture<Void> close(String idHex) {
        Entry e = sessions.remove(idHex);
        var done = new CompletableFuture<Void>();
        if (e == null) {
            done.complete(null);
            return done;
        }
        recomputeLargestFrame();
        ServerSession s = e.session();
        Runnable close = () -> {
            long bytes = s.kvBytes();
            try {
                s.close();
            } finally {
                synchronized (this) {
                    kvReserved -= bytes;
                }
                done.complete(null);
            }
        };
        if (!compute.isShutdown()) e.executor().execute(close);
        else close.run();
        return done;
    }

    /** Stops the sweep, closes every session (freeing its KV), and waits for the compute threads to finish. */
    void close() {
        sweeper.shutdownNow();
        for (String id : sessions.keySet()) {
            close(id);
        }
        compute.shutdown();
        try {
            if (!compute.awaitTermination(30, TimeUnit.SECONDS)) {
                LOG.log(System.Logger.Level.WARNING, "compute threads still busy after 30 s");
            }
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
        }
    }
}

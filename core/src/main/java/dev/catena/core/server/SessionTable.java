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

    private final long kvBudgetBytes;
    private final Duration idleTimeout;
    private final BooleanSupplier closed;
    private final Map<String, Entry> sessions = new ConcurrentHashMap<>();
    private final ExecutorService compute;
    private final ScheduledExecutorService sweeper;
    /** Sessions one connection may hold: a flood of opens is refused before any KV is reserved. */
    static final int MAX_SESSIONS_PER_CONNECTION = 64;
    /**
     * A session never stepped, or with no step for this long, held by a client over its fair share, is
     * closed to make room when another client within its share is refused for want of KV: sessions
     * opened and never used cannot keep honest clients out (not even for a second: the attack suite's
     * honest client gave up within one).
     */
    static final Duration RECLAIMABLE_AFTER = Duration.ofSeconds(1);

    private long kvReserved; // guarded by this
    /** KV bytes reserved per client ({@link #clientOf}), and fair shares; guarded by this. */
    private final KvShares shares;
    /** Open sessions per connection; guarded by this. */
    private final Map<Connection, Integer> perConnection = new java.util.HashMap<>();
    /** Sessions each client may still open; guarded by this. */
    private final OpenAllowances opens = new OpenAllowances(System.nanoTime());
    /** The largest {@link Entry#maxFrameBytes} of the open sessions; recomputed under this lock. */
    private volatile long largestFrameBytes;

    /**
     * @param threadPerSession sessions' tasks on a cached pool, a thread per active session (their steps
     *                         mostly wait for a batch), rather than on {@code computeThreads} threads
     * @param closed whether the server is closing: no session is admitted then
     */
    SessionTable(long kvBudgetBytes, Duration idleTimeout, int computeThreads, boolean threadPerSession, BooleanSupplier closed) {
        this.kvBudgetBytes = kvBudgetBytes;
        this.shares = new KvShares(kvBudgetBytes);
        this.idleTimeout = idleTimeout;
        this.closed = closed;
        this.compute = threadPerSession
                ? Executors.newCachedThreadPool(Thread.ofPlatform().daemon().name("catena-session-", 0).factory())
                : Executors.newFixedThreadPool(computeThreads, Thread.ofPlatform().daemon().name("catena-compute-", 0).factory());
        this.sweeper = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("catena-sweeper").factory());
        long period = Math.max(50, idleTimeout.toMillis() / 4);
        sweeper.scheduleAtFixedRate(this::closeIdleSessions, period, period, TimeUnit.MILLISECONDS);
    }

    /**
     * Reserves {@code needed} KV bytes and opens a session with them, then accounts what it really
     * allocated; releases the reservation when the session cannot be opened.
     *
     * @throws SessionRefused when the server is closing, the budget has no room, or the allocation fails
     */
    ServerSession admit(Connection from, long needed, int maxLength, long maxFrameBytes, Supplier<ServerSession> open) throws SessionRefused {
        String client = clientOf(from);
        List<Entry> reclaimed = List.of();
        synchronized (this) {
            if (closed.getAsBoolean()) {
                throw new SessionRefused(ErrorCode.INTERNAL, "server is closing");
            }
            if (perConnection.getOrDefault(from, 0) >= MAX_SESSIONS_PER_CONNECTION) {
                throw new SessionRefused(ErrorCode.OUT_OF_MEMORY, "this connection already holds " + MAX_SESSIONS_PER_CONNECTION
                        + " sessions, the most one may");
            }
            long now = System.nanoTime();
            String overAllowance = opens.refusal(client, now);
            if (overAllowance != null) throw new SessionRefused(ErrorCode.OUT_OF_MEMORY, overAllowance + "; closing this connection", true);
            KvShares.Share share = shares.shareOf(client, now);
            long held = shares.held(client);
            // Fair share: with other clients holding or waiting for KV, one may not take more than its part.
            if (share.clients() > 1 && held + needed > share.bytes()) {
                throw new SessionRefused(ErrorCode.OUT_OF_MEMORY, "a session of " + maxLength + " tokens needs " + needed
                        + " bytes of KV cache; " + client + " holds " + held + " of its fair share of " + share.bytes()
                        + " (" + share.clients() + " clients)");
            }
            if (kvReserved + needed > kvBudgetBytes) {
                reclaimed = reclaim(client, kvReserved + needed - kvBudgetBytes, share.bytes(), now);
            }
            if (kvReserved + needed > kvBudgetBytes) {
                shares.refused(client, now);
                throw new SessionRefused(ErrorCode.OUT_OF_MEMORY, "a session of " + maxLength + " tokens needs " + needed
                        + " bytes of KV cache; " + (kvBudgetBytes - kvReserved) + " of " + kvBudgetBytes + " are free");
            }
            shares.admitted(client);
            opens.take(client, now);
            account(client, from, needed, 1);
        }
        if (!reclaimed.isEmpty()) {
            recomputeLargestFrame();
            for (Entry e : reclaimed) {
                LOG.log(System.Logger.Level.INFO, "closing session {0} of {1}, unused and over its client''s share, to admit {2}",
                        e.session().idHex, clientOf(e.session().client()), client);
                ServerSession victim = e.session();
                e.executor().execute(victim::close); // its KV was accounted free already
            }
        }
        ServerSession s;
        try {
            s = open.get();
            synchronized (this) {
                account(client, from, s.kvBytes() - needed, 0); // what was really allocated
            }
        } catch (RuntimeException e) {
            synchronized (this) {
                account(client, from, -needed, -1);
            }
            throw new SessionRefused(ErrorCode.OUT_OF_MEMORY, "cannot allocate the KV cache: " + e.getMessage());
        }
        sessions.put(s.idHex, new Entry(s, new SerialExecutor(compute), maxFrameBytes));
        recomputeLargestFrame();
        if (!from.isOpen()) {
            // The connection closed while the KV was allocated: its onClose may have swept the table before
            // this session was in it (a connection reads closed before its onClose runs, so one of the two sees it).
            close(s.idHex);
            throw new SessionRefused(ErrorCode.INTERNAL, "the connection closed while the session was opening", true);
        }
        return s;
    }

    /**
     * Frees at least {@code bytes} of KV for {@code client} by taking out of the table, never used
     * first, then least recently used, sessions unused or idle for {@link #RECLAIMABLE_AFTER} whose clients hold more than
     * {@code share}; takes none when that would not free enough. Their KV is accounted free here;
     * the caller closes them. Guarded by this.
     */
    private List<Entry> reclaim(String client, long bytes, long share, long now) {
        long idleBefore = now - RECLAIMABLE_AFTER.toNanos();
        List<Entry> candidates = new java.util.ArrayList<>();
        for (Entry e : sessions.values()) {
            String owner = clientOf(e.session().client());
            boolean idle = !e.session().used || e.session().lastActivityNanos < idleBefore;
            if (!owner.equals(client) && idle && shares.held(owner) > share) {
                candidates.add(e);
            }
        }
        candidates.sort(java.util.Comparator.<Entry, Boolean>comparing(e -> e.session().used)
                .thenComparingLong(e -> e.session().lastActivityNanos));
        Map<String, Long> held = shares.heldByClient();
        List<Entry> victims = new java.util.ArrayList<>();
        long freed = 0;
        for (Entry e : candidates) {
            if (freed >= bytes) break;
            String owner = clientOf(e.session().client());
            if (held.get(owner) <= share) continue; // back within its share: it keeps the rest
            held.merge(owner, -e.session().kvBytes(), Long::sum);
            victims.add(e);
            freed += e.session().kvBytes();
        }
        if (freed < bytes) return List.of();
        for (Entry e : victims) {
            sessions.remove(e.session().idHex);
            account(clientOf(e.session().client()), e.session().client(), -e.session().kvBytes(), -1);
        }
        return victims;
    }

    /** Adds {@code bytes} of KV and {@code sessions} to the budget, the client's and the connection's count. */
    private void account(String client, Connection from, long bytes, int sessions) {
        kvReserved += bytes;
        shares.add(client, bytes);
        perConnection.merge(from, sessions, (a, b) -> a + b == 0 ? null : a + b);
    }

    /**
     * Who a connection's sessions count against (fair shares, open rates): the key a client proved with
     * its TLS certificate (mutual TLS), so one identity is one client from any host; else its remote
     * host, port dropped. Anonymous clients are not keyed by a key they announce: keys cost nothing to
     * make, so each would buy another share; hosts cost something.
     */
    static String clientOf(Connection c) {
        java.security.PublicKey key = c.peerKey();
        if (key != null) return "key " + dev.catena.transport.sign.Statements.fingerprint(key);
        String a = c.remoteAddress();
        int colon = a.lastIndexOf(':');
        return colon > 0 && a.substring(colon + 1).chars().allMatch(Character::isDigit) && colon + 1 < a.length()
                ? a.substring(0, colon) : a;
    }

    /**
     * A step or push for {@code s} arrived: it is used, and its client is no newcomer to {@link OpenAllowances}: marked
     * at the first step and again every half of {@link OpenAllowances#KNOWN_FOR}, so that a client stepping one long
     * session stays known, at the cost of a lock once in minutes rather than per step.
     */
    void stepped(ServerSession s) {
        long now = System.nanoTime();
        if (s.used && now - s.clientKnownSinceNanos < OpenAllowances.KNOWN_FOR.toNanos() / 2) return;
        s.used = true;
        s.clientKnownSinceNanos = now;
        synchronized (this) {
            opens.stepped(clientOf(s.client()), now);
        }
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
                    account(clientOf(s.client()), s.client(), -bytes, -1);
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

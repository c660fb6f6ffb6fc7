package dev.catena.core;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;
import dev.catena.core.server.BlockSelection;
import dev.catena.core.server.SwarmServer;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Where a {@link CatenaServer} stands in its swarm: the server of its current span, the record it keeps
 * in its directory (announced, refreshed, withdrawn at close) and, when it chooses its blocks, its moves
 * to other spans ({@link BlockSelection}) with the servers it left finishing their sessions.
 */
final class Placement {
    private static final System.Logger LOG = System.getLogger(Placement.class.getName());
    /** The most a moving server pauses, at random, between loading its new span and checking the move still pays. */
    static final long RECHECK_JITTER_MILLIS = 30;
    /** How long a move's announce is left to reach the others before it looks for a rival that moved with it. */
    static final long SETTLE_MILLIS = 100;
    /** The server hosting the current span; replaced when the server moves to other blocks. */
    private volatile SwarmServer server;
    private final Directory directory;
    private final ScheduledExecutorService announcer;
    /** How it chooses and moves its blocks; null when they are pinned. */
    private final CatenaServer.Rebalancing rebalancing;
    /** Servers of spans it moved away from, still finishing their sessions. */
    private final java.util.List<SwarmServer> draining = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile long nextRebalanceNanos;

    Placement(SwarmServer server, Directory directory, Duration announceEvery, CatenaServer.Rebalancing rebalancing) {
        this.server = server;
        this.directory = directory;
        this.rebalancing = rebalancing;
        if (directory == null) {
            this.announcer = null;
            return;
        }
        directory.announce(server.record());
        this.announcer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("catena-announce").factory());
        if (rebalancing != null) scheduleNextRebalance();
        // Refreshed, so clients route by the throughput and free KV it has now.
        announcer.scheduleAtFixedRate(() -> {
            try {
                directory.announce(this.server.record());
                if (rebalancing != null && System.nanoTime() >= nextRebalanceNanos) {
                    scheduleNextRebalance();
                    rebalance();
                }
                retireDrained();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "directory refresh failed: " + e.getMessage());
            }
        }, announceEvery.toMillis(), announceEvery.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The next check, after the interval plus up to half of it at random, so servers do not all move at once. */
    private void scheduleNextRebalance() {
        long every = rebalancing.every().toNanos();
        nextRebalanceNanos = System.nanoTime() + every + (long) (java.util.concurrent.ThreadLocalRandom.current().nextDouble() * every / 2);
    }

    /**
     * Moves to the blocks {@link BlockSelection#rebalance} names, when it names others: opens the new
     * span on a new port, announces it, withdraws the old record (no new sessions come there) and
     * closes the old span once its sessions have finished. No session is dropped.
     */
    private void rebalance() {
        SwarmServer current = server;
        var target = plan(current, listed());
        if (target.equals(current.blocks())) return;
        var c = rebalancing.config();
        String host = c.bindAddress().substring(0, c.bindAddress().lastIndexOf(':'));
        var config = new SwarmServer.Config(c.model(), c.modelId(), target, c.spanOptions(), host + ":0", c.kvBudgetBytes(),
                c.idleTimeout(), c.computeThreads(), c.peerAddresses(), c.batching());
        SwarmServer moved = SwarmServer.start(config, rebalancing.spans(), rebalancing.transport(), current.identity()); // the same identity
        // Loading took a while, and another server that saw the same gap may have moved to it meanwhile: both
        // moving would open a gap where they left. Commit only if the move still pays against the swarm now. Two
        // servers that saw one gap load for about as long, so a random pause first lets the first one's announce be
        // seen by the other (without it, both re-checked before either announced in 1 of 6 runs of NumBlocksTest).
        pauseBeforeRecheck();
        var listed = listed(); // one read: the re-check, and who was there before a rival could announce
        var seen = listed.stream().map(ServerRecord::address).collect(java.util.stream.Collectors.toSet());
        if (!target.equals(plan(current, listed))) {
            LOG.log(System.Logger.Level.INFO, "not moving to blocks {0}: another server covered them while they loaded", target);
            moved.close();
            return;
        }
        // Both may still have re-checked before either announced. Announce the new span beside the old one, let the
        // announces settle, and of the servers that newly cover those blocks only the lowest address keeps its move.
        directory.announce(moved.record()); // first, before anything slow: others re-check against it
        if (outrankedByRival(target, seen, moved.address())) {
            LOG.log(System.Logger.Level.INFO, "not moving to blocks {0}: another server moved to them at the same time", target);
            directory.withdraw(moved.address());
            moved.close();
            return;
        }
        server = moved;
        directory.withdraw(current.address());
        LOG.log(System.Logger.Level.INFO, "moved from blocks {0} on {1} to blocks {2} on {3} ({4} sessions left to finish)",
                current.blocks(), current.address(), target, moved.address(), current.openSessions());
        draining.add(current);
        retireDrained();
    }

    /**
     * After {@link #SETTLE_MILLIS}, whether another server not listed in {@code seen} (so one that moved at the same
     * time) now covers a block of {@code target} and has a lower address than {@code mine}: the same order on both
     * sides, so of two rivals exactly one keeps its move.
     */
    private boolean outrankedByRival(BlockRange target, java.util.Set<String> seen, String mine) {
        sleep(SETTLE_MILLIS);
        return listed().stream()
                .filter(r -> !seen.contains(r.address()) && !r.address().equals(mine))
                .filter(r -> r.span().start() < target.end() && target.start() < r.span().end())
                .anyMatch(r -> r.address().compareTo(mine) < 0);
    }

    /** Up to {@link #RECHECK_JITTER_MILLIS}, at random. */
    private static void pauseBeforeRecheck() {
        sleep(java.util.concurrent.ThreadLocalRandom.current().nextLong(RECHECK_JITTER_MILLIS + 1));
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // kept for the rebalancing thread, which the close stops
        }
    }

    /** The servers of this model the directory lists now. */
    private List<ServerRecord> listed() {
        return directory.servers(rebalancing.config().modelId());
    }

    /** Where {@link BlockSelection#rebalance} would have {@code current} go, given {@code listed}. */
    private BlockRange plan(SwarmServer current, List<ServerRecord> listed) {
        return BlockSelection.rebalance(listed, rebalancing.nLayer(), current.address(), current.blocks(), current.record().throughput(),
                rebalancing.balanceQuality());
    }

    /** Closes the old spans whose sessions have all finished. */
    private void retireDrained() {
        for (SwarmServer old : draining) {
            if (old.openSessions() == 0) {
                draining.remove(old);
                old.close();
            }
        }
    }


    /** The server of the current span. */
    SwarmServer server() {
        return server;
    }

    /** Withdraws the record and closes the directory, then the current span's server and those draining. */
    void close() {
        if (announcer != null) {
            announcer.shutdownNow();
            try {
                directory.withdraw(server.address());
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "directory withdraw failed: " + e.getMessage());
            } finally {
                directory.close();
            }
        }
        server.close();
        draining.forEach(SwarmServer::close);
    }
}

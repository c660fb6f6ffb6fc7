package dev.catena.core.client;

import dev.catena.core.SwarmException;
import dev.catena.api.BlockRange;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An inference session that survives servers failing. When a server fails (connection lost,
 * timeout, error reply, damaged or inconsistent data) it bans that server with exponential backoff,
 * plans replacements for exactly the blocks the failed hop ran (one server or several, whole spans
 * or parts, by measured round trips), replays that hop's history through them, repoints the
 * upstream server's push to them, and re-sends the interrupted step. The other hops keep their
 * sessions; the replayed caches, and so every later output, are bit-identical to a run without the
 * failure.
 */
public final class FaultTolerantSession implements GenerationLoop.SamplingChain, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(FaultTolerantSession.class.getName());

    /**
     * @param maxFailovers failovers allowed for one step before giving up
     * @param banBase      first ban; each further failure of the same server doubles it, up to {@code banMax}
     * @param coverageWait when no server covers some blocks, how long to wait for the directory to
     *                     list some (a server moving or joining) before bans give way and the step fails
     */
    public record Policy(int maxFailovers, Duration banBase, Duration banMax, Duration stepTimeout, Duration coverageWait) {
        public Policy(int maxFailovers, Duration banBase, Duration banMax, Duration stepTimeout) {
            this(maxFailovers, banBase, banMax, stepTimeout, Duration.ZERO);
        }

        /** The request timeout {@link #defaults()} assumes. */
        private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

        /** The defaults for a client with a 10 s request timeout: a step may take 30 s. */
        public static Policy defaults() {
            return defaults(REQUEST_TIMEOUT);
        }

        /** The defaults for a client with this request timeout: a step may take three of them. */
        public static Policy defaults(Duration requestTimeout) {
            return new Policy(4, Duration.ofSeconds(5), Duration.ofMinutes(5), requestTimeout.multipliedBy(3));
        }
    }

    /** One failover: which server failed, why, what replaced it, and how long the step took with the recovery. */
    public record Failover(String server, String reason, List<Hop> replacements, double millis) {
    }

    private final SwarmClient client;
    private final Directory directory;
    private final SessionSpec spec;
    private final RemoteSession.Mode mode;
    private final Policy policy;
    private final BanList bans;
    private final List<Failover> failovers = new ArrayList<>();
    private volatile RemoteSession session; // volatile: status readers list its route
    private volatile java.util.function.Consumer<Failover> onFailover = f -> { };
    private final SpotChecker spots;
    /** Ring mode: the first generation's sampling, for the route's servers at open. */
    private RingSpec ring;

    public FaultTolerantSession(SwarmClient client, Directory directory, SessionSpec spec, RemoteSession.Mode mode, Policy policy) {
        this.client = client;
        this.directory = directory;
        this.spec = spec;
        this.mode = mode;
        this.policy = policy;
        this.bans = new BanList(policy.banBase(), policy.banMax());
        this.spots = client.spotCheckFraction() > 0 ? new SpotChecker(client, directory, spec, client.spotCheckFraction(),
                client.spotCheckDraws(), () -> Set.copyOf(bans.banned()), policy.stepTimeout()) : null;
    }

    /** Waits for the spot check in progress, if any (for tests). */
    public void awaitSpotChecks() {
        if (spots != null) spots.drain();
    }

    /** Replaces every hop whose server a spot check convicted, without comparing with its (wrong) answers. */
    private void replaceConvicted() {
        if (session == null) return;
        for (int k = 0; k < session.size(); k++) {
            Hop hop = session.route().get(k);
            if (client.isConvicted(hop.address())) {
                bans.ban(hop.address());
                session.replace(k, plan(hop.blocks()), false);
                LOG.log(System.Logger.Level.WARNING, "{0} was convicted by a spot check; replaced by {1}", hop.address(),
                        session.route().subList(k, k + 1));
            }
        }
    }

    @Override
    public float[] forwardLast(float[] hidden, int n, int position) {
        long started = System.nanoTime();
        List<String> failed = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        List<Hop> replacements = new ArrayList<>();
        while (true) {
            try {
                if (session == null) {
                    session = RemoteSession.open(client, spec.modelId(), spec.nEmbd(), plan(new BlockRange(0, spec.nLayer())), mode,
                            spec.maxLength(), spec.wire(), policy.stepTimeout(), true, ring);
                }
                replaceConvicted();
                float[] out = session.step(hidden, n, position);
                if (spots != null) spots.afterStep(session);
                double millis = (System.nanoTime() - started) / 1e6;
                for (int i = 0; i < failed.size(); i++) {
                    var f = new Failover(failed.get(i), reasons.get(i), i == failed.size() - 1 ? List.copyOf(replacements) : List.of(), millis);
                    failovers.add(f);
                    onFailover.accept(f);
                }
                if (!failed.isEmpty()) {
                    LOG.log(System.Logger.Level.INFO, "failover: {0} failed ({1}); route now {2}; the step took {3} ms",
                            failed, reasons.getLast(), session.route(), String.format("%.1f", millis));
                }
                return out;
            } catch (SwarmException.ServerFailure e) { // other failures (no route, interrupted) end the step
                failed.add(e.server());
                reasons.add(e.getMessage());
                if (failed.size() > policy.maxFailovers()) {
                    throw new SwarmException("giving up after " + policy.maxFailovers() + " failovers in one step; last: "
                            + e.getMessage(), e);
                }
                bans.ban(e.server());
                replacements.clear();
                replacements.addAll(replaceOrForget(e.server()));
            }
        }
    }

    /**
     * Replaces the failed server's hop, if the route has one, by servers covering its blocks; a
     * replacement that fails in its turn is banned and replaced too.
     *
     * @return the hops that replaced it (none when the route did not use it)
     */
    private List<Hop> replaceOrForget(String failed) {
        if (session == null) {
            return List.of(); // it failed while the route opened: the next try plans around it
        }
        int index = session.indexOf(failed);
        if (index < 0) {
            return List.of();
        }
        BlockRange blocks = session.route().get(index).blocks();
        for (int attempt = 0; ; attempt++) {
            List<Hop> replacements = plan(blocks);
            try {
                session.replace(index, replacements);
                return replacements;
            } catch (SwarmException.ServerFailure e) {
                if (attempt + 1 >= policy.maxFailovers()) {
                    throw e;
                }
                LOG.log(System.Logger.Level.INFO, "replacement for {0} failed: {1}", failed, e.getMessage());
                bans.ban(e.server());
            }
        }
    }

    /**
     * The cheapest hops over {@code blocks} by measured round trips, among servers online with room
     * for the session; servers that do not answer a ping are banned. When no route avoids the bans it
     * reads the directory anew (a watched view can lag: events in flight, a watch being re-opened on
     * another etcd member), again about every second while it waits for coverage, and only then lets
     * bans give way ({@link BanList#giveWay}).
     */
    private List<Hop> plan(BlockRange blocks) {
        long start = System.nanoTime();
        long deadline = start + policy.coverageWait().toNanos();
        long nextReread = start;
        boolean logged = false;
        while (true) {
            try {
                return planOnce(blocks, false);
            } catch (SwarmException.NoRoute e) {
                long now = System.nanoTime();
                if (now >= nextReread) {
                    nextReread = now + 1_000_000_000L;
                    if (reread()) continue;
                }
                if (now >= deadline) break;
                if (!logged) {
                    LOG.log(System.Logger.Level.INFO, "{0}; waiting up to {1} s for the directory to list servers for them",
                            e.getMessage(), policy.coverageWait().toSeconds());
                    logged = true;
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
        return planOnce(blocks, true);
    }

    /** Reads the directory anew; false (logged) when it cannot be read now, and planning goes on from the view held. */
    private boolean reread() {
        try {
            directory.reread(spec.modelId());
            return true;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.INFO, "re-reading the directory failed: {0}", e.getMessage());
            return false;
        }
    }

    /** One plan over the directory's servers now; bans give way only when {@code giveWay}. */
    private List<Hop> planOnce(BlockRange blocks, boolean giveWay) {
        List<ServerRecord> candidates = directory.servers(spec.modelId()).stream()
                .filter(s -> s.state() == ServerRecord.State.ONLINE && s.freeKvTokens() >= spec.maxLength())
                .filter(s -> s.span().start() < blocks.end() && s.span().end() > blocks.start())
                .filter(s -> !client.isConvicted(s.address()))
                .toList();
        Set<String> excluded = new HashSet<>(bans.banned());
        Map<String, Double> rtts = client.rtts().measure(
                candidates.stream().map(ServerRecord::address).filter(a -> !excluded.contains(a)).toList());
        for (ServerRecord s : candidates) {
            if (!excluded.contains(s.address()) && !rtts.containsKey(s.address())) {
                bans.ban(s.address()); // unreachable, or too slow to answer
                excluded.add(s.address());
            }
        }
        if (!giveWay) return RoutePlanner.plan(candidates, blocks, excluded, RoutePlanner.latency(rtts));
        return bans.giveWay(excluded, without -> RoutePlanner.plan(candidates, blocks, without, RoutePlanner.latency(rtts)));
    }

    /**
     * Ring mode: the sampling of the generation about to run. The first one rides on the route's sessions;
     * a later one on the same session (a chat's next turn) runs in push mode.
     */
    @Override
    public void generation(dev.catena.api.spi.SamplingParams sampling, int[] history, int stopPosition, boolean stopAtEos) {
        if (mode != RemoteSession.Mode.RING) return;
        if (session == null && ring == null) {
            ring = new RingSpec(sampling, history, stopPosition, stopAtEos, client.ringWindow());
        } else {
            ring = null;
            if (session != null) session.endRing();
        }
    }

    @Override
    public int chosenToken() {
        RemoteSession s = session;
        return s == null ? -1 : s.chosenToken();
    }

    @Override
    public void rewind() {
        if (session != null) session.rewind();
    }

    /** Ring steps accepted after the fact; any thread. */
    public long ringVerified() {
        RemoteSession s = session;
        return s == null ? 0 : s.ringVerified();
    }

    /** Ring steps that disagreed (or stalled) and were re-sent from the client; any thread. */
    public long ringRewinds() {
        RemoteSession s = session;
        return s == null ? 0 : s.ringRewinds();
    }

    /** The route in use now; any thread. */
    public List<Hop> route() {
        RemoteSession s = session;
        return s == null ? List.of() : s.route();
    }

    /** Called with each failover once the step it interrupted completes, on the session's thread. */
    public void onFailover(java.util.function.Consumer<Failover> listener) {
        this.onFailover = java.util.Objects.requireNonNull(listener, "listener");
    }

    /** Results accepted from the route's second and later hops (see {@link RemoteSession#hopSteps()}); any thread. */
    public long hopSteps() {
        RemoteSession s = session;
        return s == null ? 0 : s.hopSteps();
    }

    /** Of {@link #hopSteps()}, those computed on a pushed input; any thread. */
    public long pushedSteps() {
        RemoteSession s = session;
        return s == null ? 0 : s.pushedSteps();
    }

    public List<Failover> failovers() {
        return List.copyOf(failovers);
    }

    @Override
    public void close() {
        if (spots != null) spots.close();
        if (session != null) {
            session.close();
            session = null;
        }
    }
}

package dev.catena.core.client;

import dev.catena.api.BlockRange;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.core.directory.Directory;
import dev.catena.core.directory.ServerRecord;
import dev.catena.transport.proto.DType;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
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
public final class FaultTolerantSession implements GenerationLoop.Chain, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(FaultTolerantSession.class.getName());
    /** A server that cannot answer an info request in this long is not one to route through. */
    private static final Duration PING_TIMEOUT = Duration.ofSeconds(2);

    /**
     * @param maxFailovers failovers allowed for one step before giving up
     * @param banBase      first ban; each further failure of the same server doubles it, up to {@code banMax}
     */
    public record Policy(int maxFailovers, Duration banBase, Duration banMax, Duration stepTimeout) {
        public static Policy defaults() {
            return new Policy(4, Duration.ofSeconds(5), Duration.ofMinutes(5), Duration.ofSeconds(30));
        }
    }

    /** One failover: which server failed, why, what replaced it, and how long the step took with the recovery. */
    public record Failover(String server, String reason, List<RemoteSession.Hop> replacements, double millis) {
    }

    private final SwarmClient client;
    private final Directory directory;
    private final String modelId;
    private final int nLayer;
    private final int nEmbd;
    private final RemoteSession.Mode mode;
    private final int maxLength;
    private final DType wireDtype;
    private final Policy policy;
    private final Map<String, Long> bannedUntilNanos = new HashMap<>();
    private final Map<String, Integer> strikes = new HashMap<>();
    private final List<Failover> failovers = new ArrayList<>();
    private RemoteSession session;

    public FaultTolerantSession(SwarmClient client, Directory directory, String modelId, int nLayer, int nEmbd,
                                RemoteSession.Mode mode, int maxLength, DType wireDtype, Policy policy) {
        this.client = client;
        this.directory = directory;
        this.modelId = modelId;
        this.nLayer = nLayer;
        this.nEmbd = nEmbd;
        this.mode = mode;
        this.maxLength = maxLength;
        this.wireDtype = wireDtype;
        this.policy = policy;
    }

    @Override
    public float[] forwardLast(float[] hidden, int n, int position) {
        long started = System.nanoTime();
        List<String> failed = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        List<RemoteSession.Hop> replacements = new ArrayList<>();
        while (true) {
            try {
                if (session == null) {
                    session = RemoteSession.open(client, modelId, nEmbd, plan(new BlockRange(0, nLayer)), mode, maxLength,
                            wireDtype, policy.stepTimeout());
                }
                float[] out = session.step(hidden, n, position);
                double millis = (System.nanoTime() - started) / 1e6;
                for (int i = 0; i < failed.size(); i++) {
                    failovers.add(new Failover(failed.get(i), reasons.get(i), i == failed.size() - 1 ? List.copyOf(replacements) : List.of(), millis));
                }
                if (!failed.isEmpty()) {
                    LOG.log(System.Logger.Level.INFO, "failover: {0} failed ({1}); route now {2}; the step took {3} ms",
                            failed, reasons.getLast(), session.route(), String.format("%.1f", millis));
                }
                return out;
            } catch (SwarmException e) {
                if (e.server() == null) {
                    throw e; // nothing to fail over from: e.g. no server covers a block
                }
                failed.add(e.server());
                reasons.add(e.getMessage());
                if (failed.size() > policy.maxFailovers()) {
                    throw new SwarmException("giving up after " + policy.maxFailovers() + " failovers in one step; last: "
                            + e.getMessage(), e.server(), e);
                }
                ban(e.server());
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
    private List<RemoteSession.Hop> replaceOrForget(String failed) {
        if (session == null) {
            return List.of(); // it failed while the route opened: the next try plans around it
        }
        int index = session.indexOf(failed);
        if (index < 0) {
            return List.of();
        }
        BlockRange blocks = session.route().get(index).blocks();
        for (int attempt = 0; ; attempt++) {
            List<RemoteSession.Hop> replacements = plan(blocks);
            try {
                session.replace(index, replacements);
                return replacements;
            } catch (SwarmException e) {
                if (e.server() == null || attempt + 1 >= policy.maxFailovers()) {
                    throw e;
                }
                LOG.log(System.Logger.Level.INFO, "replacement for {0} failed: {1}", failed, e.getMessage());
                ban(e.server());
            }
        }
    }

    /**
     * The cheapest hops over {@code blocks} by measured round trips, among servers online with room
     * for the session. Bans are a preference: when every server of some block is banned (e.g. after
     * transient resets), banned servers are allowed back one at a time, fewest failures first.
     */
    private List<RemoteSession.Hop> plan(BlockRange blocks) {
        List<ServerRecord> candidates = directory.servers(modelId).stream()
                .filter(s -> s.state() == ServerRecord.State.ONLINE && s.freeKvTokens() >= maxLength)
                .filter(s -> s.span().start() < blocks.end() && s.span().end() > blocks.start())
                .toList();
        Set<String> excluded = new HashSet<>(banned());
        Map<String, Double> rtts = measure(candidates.stream().map(ServerRecord::address).filter(a -> !excluded.contains(a)).toList());
        for (ServerRecord s : candidates) {
            if (!excluded.contains(s.address()) && !rtts.containsKey(s.address())) {
                ban(s.address()); // unreachable, or too slow to answer
                excluded.add(s.address());
            }
        }
        List<String> allowBack = new ArrayList<>(excluded);
        allowBack.sort(Comparator.<String>comparingInt(a -> strikes.getOrDefault(a, 0))
                .thenComparingLong(a -> bannedUntilNanos.getOrDefault(a, 0L)));
        while (true) {
            try {
                return RoutePlanner.plan(candidates, blocks, excluded, RoutePlanner.latency(rtts));
            } catch (SwarmException noRoute) {
                if (allowBack.isEmpty()) throw noRoute;
                String retry = allowBack.removeFirst();
                excluded.remove(retry);
                LOG.log(System.Logger.Level.INFO, "no route without banned servers; trying {0} again", retry);
            }
        }
    }

    /**
     * Round trips to {@code addresses} in ms, measured all at once for servers not measured yet, each
     * given at most {@link #PING_TIMEOUT}: a hung server in the directory costs that once, not a
     * request timeout per server. Servers missing from the result did not answer.
     */
    private Map<String, Double> measure(List<String> addresses) {
        Map<String, Double> known = client.roundTrips();
        Map<String, Double> rtts = new HashMap<>();
        Map<String, java.util.concurrent.Future<Double>> pings = new HashMap<>();
        Duration timeout = PING_TIMEOUT.compareTo(client.requestTimeout()) < 0 ? PING_TIMEOUT : client.requestTimeout();
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (String a : addresses) {
                if (known.containsKey(a)) rtts.put(a, known.get(a));
                else pings.put(a, pool.submit(() -> client.roundTripMillis(a, timeout)));
            }
            for (var ping : pings.entrySet()) {
                try {
                    rtts.put(ping.getKey(), ping.getValue().get());
                } catch (java.util.concurrent.ExecutionException unreachable) {
                    LOG.log(System.Logger.Level.INFO, "{0} did not answer a ping: {1}", ping.getKey(), unreachable.getCause().getMessage());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new SwarmException("interrupted while measuring round trips");
                }
            }
        }
        return rtts;
    }

    private Set<String> banned() {
        long now = System.nanoTime();
        Set<String> out = new HashSet<>();
        bannedUntilNanos.forEach((a, until) -> {
            if (until - now > 0) out.add(a);
        });
        return out;
    }

    private void ban(String server) {
        int k = strikes.merge(server, 1, Integer::sum);
        long nanos = Math.min(policy.banMax().toNanos(), policy.banBase().toNanos() << Math.min(20, k - 1));
        bannedUntilNanos.put(server, System.nanoTime() + nanos);
    }

    /** The route in use now. */
    public List<RemoteSession.Hop> route() {
        return session == null ? List.of() : session.route();
    }

    public List<Failover> failovers() {
        return List.copyOf(failovers);
    }

    @Override
    public void close() {
        if (session != null) {
            session.close();
            session = null;
        }
    }
}

package dev.catena.core.client;

import dev.catena.core.Generator;
import dev.catena.core.directory.Directory;
import dev.catena.transport.proto.DType;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An inference session that survives servers failing: it keeps every input it sent (the history),
 * and when a server fails (connection lost, timeout, error reply) it bans that server with
 * exponential backoff, plans a new route from the directory without it, opens sessions there and
 * replays the history step by step (the same steps as before, so the caches and every later
 * output are bit-identical to a run without the failure), then goes on.
 * <p>
 * This first version re-opens the whole route on a failure rather than only the failed span; the
 * healthy servers recompute their part of the history.
 */
public final class FaultTolerantSession implements Generator.Chain, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(FaultTolerantSession.class.getName());

    /**
     * @param maxFailovers failovers allowed for one step before giving up
     * @param banBase      first ban; each further failure of the same server doubles it, up to {@code banMax}
     */
    public record Policy(int maxFailovers, Duration banBase, Duration banMax, Duration stepTimeout) {
        public static Policy defaults() {
            return new Policy(4, Duration.ofSeconds(5), Duration.ofMinutes(5), Duration.ofSeconds(30));
        }
    }

    /** One failover: which server failed, why, and how long the recovery took. */
    public record Failover(String server, String reason, double millis) {
    }

    private record Sent(float[] hidden, int n, int position) {
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
    private final List<Sent> history = new ArrayList<>();
    private final Map<String, Long> bannedUntilNanos = new ConcurrentHashMap<>();
    private final Map<String, Integer> strikes = new ConcurrentHashMap<>();
    private final List<Failover> failovers = new ArrayList<>();
    private RemoteSession session;
    private List<RemoteSession.Hop> route = List.of();
    private float[] lastOutput; // the final span's output of the last step replayed

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
        history.removeIf(s -> s.position() >= position); // a re-send rewinds the history too
        history.add(new Sent(hidden.clone(), n, position));
        for (int attempt = 0; ; attempt++) {
            long started = System.nanoTime();
            try {
                if (session == null) {
                    openAndReplay();
                    // The replay ended with this step: its output is the answer.
                    return lastOutput;
                }
                return session.step(hidden, n, position);
            } catch (SwarmException e) {
                if (e.server() == null) {
                    throw e;
                }
                if (attempt >= policy.maxFailovers()) {
                    throw new SwarmException("giving up after " + attempt + " failovers in one step; last: " + e.getMessage(),
                            e.server(), e);
                }
                ban(e.server());
                closeSession(e.server());
                long recovered = System.nanoTime();
                try {
                    openAndReplay();
                } catch (SwarmException again) {
                    if (again.server() == null) throw again;
                    if (attempt + 1 >= policy.maxFailovers()) {
                        throw new SwarmException("giving up after " + (attempt + 1) + " failovers in one step; last: "
                                + again.getMessage(), again.server(), again);
                    }
                    ban(again.server());
                    closeSession(again.server());
                    continue;
                }
                var f = new Failover(e.server(), e.getMessage(), (System.nanoTime() - started) / 1e6);
                failovers.add(f);
                LOG.log(System.Logger.Level.INFO, "failover: {0} failed ({1}); new route {2}, recovered in {3} ms",
                        e.server(), e.getMessage(), route, String.format("%.1f", (System.nanoTime() - recovered) / 1e6));
                return lastOutput;
            }
        }
    }

    /** Plans a route without banned servers, opens it and replays every step sent so far. */
    private void openAndReplay() {
        var now = System.nanoTime();
        var banned = new java.util.HashSet<String>();
        bannedUntilNanos.forEach((a, until) -> {
            if (until > now) banned.add(a);
        });
        route = planAllowingBanned(directory.servers(modelId), banned);
        session = RemoteSession.open(client, modelId, nEmbd, route, mode, maxLength, wireDtype, policy.stepTimeout());
        for (Sent s : history) {
            lastOutput = session.step(s.hidden(), s.n(), s.position());
        }
    }

    /**
     * Bans are a preference: when every replica of a span is banned (e.g. after transient resets),
     * the banned servers are allowed back one at a time, those with the fewest failures first.
     */
    private List<RemoteSession.Hop> planAllowingBanned(List<dev.catena.core.directory.ServerRecord> servers,
                                                       java.util.Set<String> banned) {
        var excluded = new java.util.HashSet<>(banned);
        var byStrikes = new java.util.ArrayList<>(banned);
        byStrikes.sort(java.util.Comparator.<String>comparingInt(a -> strikes.getOrDefault(a, 0))
                .thenComparingLong(a -> bannedUntilNanos.getOrDefault(a, 0L)));
        while (true) {
            try {
                return RoutePlanner.plan(servers, nLayer, excluded, RoutePlanner.hops());
            } catch (SwarmException noRoute) {
                if (byStrikes.isEmpty()) throw noRoute;
                String retry = byStrikes.removeFirst();
                excluded.remove(retry);
                LOG.log(System.Logger.Level.INFO, "no route without banned servers; trying {0} again", retry);
            }
        }
    }

    private void ban(String server) {
        int k = strikes.merge(server, 1, Integer::sum);
        long nanos = Math.min(policy.banMax().toNanos(), policy.banBase().toNanos() << Math.min(20, k - 1));
        bannedUntilNanos.put(server, System.nanoTime() + nanos);
    }

    private void closeSession(String failed) {
        if (session != null) {
            try {
                session.closeExcept(failed);
            } catch (RuntimeException ignored) {
                // the failed server may not answer; the others close their sessions
            }
            session = null;
        }
    }

    /** The route in use now. */
    public List<RemoteSession.Hop> route() {
        return route;
    }

    public List<Failover> failovers() {
        return List.copyOf(failovers);
    }

    @Override
    public void close() {
        closeSession(null);
    }
}

package dev.catena.core;

import dev.catena.api.BlockRange;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What a {@link Generator} sees of where its model runs, read-only: the servers (from the peer list or the
 * directory, each asked for its {@code ServerInfo} by a background probe), which blocks they cover, the
 * generator's live sessions and its recent failovers. {@link Generator#status()} returns the latest one; it
 * never waits for a server.
 *
 * @param model     the model id servers announce (the GGUF's file name)
 * @param blocks    the model's block count
 * @param time      when the servers were last probed
 * @param servers   every server known, reachable or not, ordered by span then address
 * @param coverage  for each block, the reachable online servers that hold it
 * @param gaps      the maximal runs of blocks no reachable online server holds (empty when the model is covered)
 * @param sessions  this generator's open streams and chat sessions
 * @param failovers this generator's most recent failovers, oldest first (at most {@link #RECENT_FAILOVERS})
 * @param counters  running totals since the generator was built
 */
public record SwarmStatus(String model, int blocks, Instant time, List<Server> servers, List<Integer> coverage,
                          List<BlockRange> gaps, List<Session> sessions, List<FailoverEvent> failovers, Counters counters) {

    /** Failovers a status keeps. */
    public static final int RECENT_FAILOVERS = 20;

    /** Keeps unmodifiable copies of the lists. */
    public SwarmStatus {
        servers = List.copyOf(servers);
        coverage = List.copyOf(coverage);
        gaps = List.copyOf(gaps);
        sessions = List.copyOf(sessions);
        failovers = List.copyOf(failovers);
    }

    /** Whether every block is held by a reachable online server. */
    public boolean covered() {
        return gaps.isEmpty();
    }

    /** The servers that answered the last probe. */
    public long reachableServers() {
        return servers.stream().filter(Server::reachable).count();
    }

    /** The replicas holding each block, counting {@code servers} that are reachable and online (or local). */
    public static List<Integer> coverage(int blocks, List<Server> servers) {
        int[] c = new int[blocks];
        for (Server s : servers) {
            if (!s.reachable() || !(s.state() == State.ONLINE || s.state() == State.LOCAL)) continue;
            for (int b = Math.max(0, s.span().start()); b < Math.min(blocks, s.span().end()); b++) c[b]++;
        }
        return java.util.Arrays.stream(c).boxed().toList();
    }

    /** The maximal runs of zeros in {@code coverage}. */
    public static List<BlockRange> gaps(List<Integer> coverage) {
        List<BlockRange> gaps = new ArrayList<>();
        int start = -1;
        for (int b = 0; b <= coverage.size(); b++) {
            boolean hole = b < coverage.size() && coverage.get(b) == 0;
            if (hole && start < 0) start = b;
            if (!hole && start >= 0) {
                gaps.add(new BlockRange(start, b));
                start = -1;
            }
        }
        return gaps;
    }

    /** A server's state as the status shows it. */
    public enum State {
        /** Announced online, or a peer given on the command line. */
        ONLINE,
        /** Announced, still loading. */
        JOINING,
        /** Announced as leaving. */
        OFFLINE,
        /** Blocks run in this process ({@link LocalGenerator}). */
        LOCAL
    }

    /**
     * One server.
     *
     * @param address        its {@code host:port} ({@code local} for blocks in this process)
     * @param span           the blocks it serves
     * @param state          what it announced
     * @param reachable      whether it answered the last probe in time
     * @param roundTripMillis the last probe's round trip (0 when unreachable or local)
     * @param throughput     steps per second its compute sustains: steps over compute time, from its counters (or
     *                       the directory's figure before it answered); 0 when unknown
     * @param stepsPerSecond steps it computed per second between the last two probes
     * @param kvBytesFree    KV cache bytes it could still reserve
     * @param kvBytesTotal   its KV budget
     * @param sessions       sessions open on it (all clients'); -1 when unknown
     * @param pushesUsed     steps it computed on a pushed input, since it started
     * @param mismatched     pushes whose bytes differed from the client's copy, since it started
     * @param error          why the last probe failed; empty when it answered
     */
    public record Server(String address, BlockRange span, State state, boolean reachable, double roundTripMillis,
                         double throughput, double stepsPerSecond, long kvBytesFree, long kvBytesTotal, int sessions,
                         long pushesUsed, long mismatched, String error) {
    }

    /**
     * One of the generator's open streams or chat sessions.
     *
     * @param id        a number unique within the generator
     * @param opened    when it opened
     * @param route     the servers and blocks it runs on now (empty before its first step, and in process)
     * @param hopSteps  results accepted from the route's second and later hops (the ones a push can feed)
     * @param pushShare the share of {@code hopSteps} computed on a pushed input (0 in relay mode and in process)
     */
    public record Session(long id, Instant opened, List<RouteHop> route, long hopSteps, double pushShare) {
        /** Keeps an unmodifiable copy of the route. */
        public Session {
            route = List.copyOf(route);
        }
    }

    /**
     * One failover.
     *
     * @param time   when the step it interrupted completed
     * @param blocks the blocks the failed hop ran; null when the route was planned anew (it failed as it opened)
     * @param from   the failed server
     * @param to     the servers that took over its blocks (empty when the route was planned anew)
     * @param reason what went wrong
     */
    public record FailoverEvent(Instant time, BlockRange blocks, String from, List<String> to, String reason) {
        /** Keeps an unmodifiable copy of the replacements. */
        public FailoverEvent {
            to = List.copyOf(to);
        }
    }

    /**
     * Running totals.
     *
     * @param failovers        failovers since the generator was built
     * @param pushesUsed       hop results computed on a pushed input that the generator accepted
     * @param pushesMismatched hop results computed on a push that differed from the generator's own copy
     * @param openSessions     the generator's open streams and chat sessions
     * @param kvBytesInUse     KV cache bytes reserved on the reachable servers (every client's), or in this process
     * @param ringVerified     ring mode: steps the servers ran on their own that the generator verified after the fact
     * @param ringRewound      ring mode: steps that disagreed (or stalled) and were redone from the generator's own copy
     * @param turnaroundP50Millis the generator's turnaround per decode step it drives, median: from the last result of a
     *                         step reaching it to the next step's first frame sent (its head and sampler included); 0 before any
     * @param turnaroundP90Millis the same, 90th percentile
     */
    public record Counters(long failovers, long pushesUsed, long pushesMismatched, int openSessions, long kvBytesInUse,
                           long ringVerified, long ringRewound, double turnaroundP50Millis, double turnaroundP90Millis) {
        public Counters(long failovers, long pushesUsed, long pushesMismatched, int openSessions, long kvBytesInUse) {
            this(failovers, pushesUsed, pushesMismatched, openSessions, kvBytesInUse, 0, 0);
        }

        public Counters(long failovers, long pushesUsed, long pushesMismatched, int openSessions, long kvBytesInUse,
                        long ringVerified, long ringRewound) {
            this(failovers, pushesUsed, pushesMismatched, openSessions, kvBytesInUse, ringVerified, ringRewound, 0, 0);
        }
    }
}

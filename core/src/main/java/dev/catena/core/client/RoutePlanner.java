package dev.catena.core.client;

import dev.catena.core.SwarmException;
import dev.catena.api.BlockRange;
import dev.catena.api.directory.ServerRecord;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * The cheapest route over the block boundaries of a range: Dijkstra where a server hosting
 * {@code [a, b)} gives an edge from every boundary i in [a, b) to every j in (i, b], costing one
 * step through blocks [i, j) of it (as Petals does over (server, block) nodes). So a route may use
 * part of a server's span, and a failed span may be covered by several servers split differently.
 */
public final class RoutePlanner {
    private RoutePlanner() {
    }

    /** The cost of one decode step through {@code blocks} blocks of a server. */
    @FunctionalInterface
    public interface Cost {
        double of(ServerRecord server, int blocks);
    }

    /** The cheapest route over all {@code nLayer} blocks. */
    public static List<Hop> plan(List<ServerRecord> servers, int nLayer, Set<String> excluded, Cost cost) {
        return plan(servers, new BlockRange(0, nLayer), excluded, cost);
    }

    /**
     * The cheapest chain of hops over {@code range}.
     *
     * @param excluded servers not to use (banned)
     * @throws SwarmException naming the blocks no usable server covers
     */
    public static List<Hop> plan(List<ServerRecord> servers, BlockRange range, Set<String> excluded, Cost cost) {
        int from = range.start();
        int to = range.end();
        double[] dist = new double[to + 1];
        ServerRecord[] via = new ServerRecord[to + 1];
        int[] viaStart = new int[to + 1];
        Arrays.fill(dist, Double.POSITIVE_INFINITY);
        dist[from] = 0;
        var queue = new PriorityQueue<double[]>((x, y) -> Double.compare(x[0], y[0]));
        queue.add(new double[]{0, from});
        while (!queue.isEmpty()) {
            double[] top = queue.poll();
            int at = (int) top[1];
            if (top[0] > dist[at]) continue;
            for (ServerRecord s : servers) {
                if (excluded.contains(s.address()) || s.span().start() > at || s.span().end() <= at) continue;
                for (int end = at + 1; end <= Math.min(to, s.span().end()); end++) {
                    double d = dist[at] + Math.max(0, cost.of(s, end - at));
                    if (d < dist[end]) {
                        dist[end] = d;
                        via[end] = s;
                        viaStart[end] = at;
                        queue.add(new double[]{d, end});
                    }
                }
            }
        }
        if (dist[to] == Double.POSITIVE_INFINITY) {
            throw new SwarmException.NoRoute("no usable server covers " + uncovered(servers, range, excluded)
                    + " (banned: " + (excluded.isEmpty() ? "none" : String.join(", ", excluded)) + ")");
        }
        List<Hop> hops = new ArrayList<>();
        for (int at = to; at > from; at = viaStart[at]) {
            hops.add(new Hop(via[at].address(), new BlockRange(viaStart[at], at)));
        }
        Collections.reverse(hops);
        return List.copyOf(hops);
    }

    /** The blocks of {@code range} that no usable server hosts, as ranges. */
    private static String uncovered(List<ServerRecord> servers, BlockRange range, Set<String> excluded) {
        boolean[] covered = new boolean[range.end()];
        for (ServerRecord s : servers) {
            if (excluded.contains(s.address())) continue;
            for (int b = Math.max(range.start(), s.span().start()); b < Math.min(range.end(), s.span().end()); b++) covered[b] = true;
        }
        List<String> gaps = new ArrayList<>();
        for (int b = range.start(); b < range.end(); ) {
            if (covered[b]) { b++; continue; }
            int e = b;
            while (e < range.end() && !covered[e]) e++;
            gaps.add("blocks [" + b + ", " + e + ")");
            b = e;
        }
        return String.join(", ", gaps);
    }

    /** Equal cost for every hop: the route with the fewest hops. */
    public static Cost hops() {
        return (s, blocks) -> 1;
    }

    /**
     * Cost from measured round trips and announced throughput: a hop costs its server's round trip
     * (ms) plus its share of the server's step time ({@code blocks / span} of {@code 1000 / throughput}
     * ms). Servers not measured cost as much as the slowest measured one. Every hop costs its round
     * trip, so among routes of equal compute the one with fewer hops wins.
     */
    public static Cost latency(Map<String, Double> rttMillis) {
        double worst = rttMillis.values().stream().mapToDouble(Double::doubleValue).max().orElse(1);
        return (s, blocks) -> rttMillis.getOrDefault(s.address(), worst)
                + (s.throughput() > 0 ? 1000.0 / s.throughput() * blocks / s.span().size() : 0);
    }
}

package dev.catena.core.client;

import dev.catena.core.directory.ServerRecord;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * The cheapest route over block boundaries 0..L: Dijkstra where a server hosting {@code [a, b)}
 * is an edge from a to b costing its measured round trip plus a compute estimate (as Petals does
 * over (server, block) nodes). Servers use their whole span here: sessions on part of a span are
 * not served yet.
 */
public final class RoutePlanner {
    private RoutePlanner() {
    }

    /**
     * @param cost     the cost of one step through a server (e.g. RTT ms + blocks / throughput)
     * @param excluded servers not to use (banned)
     * @throws SwarmException naming the blocks no usable server covers
     */
    public static List<RemoteSession.Hop> plan(List<ServerRecord> servers, int nLayer, Set<String> excluded,
                                               ToDoubleFunction<ServerRecord> cost) {
        double[] dist = new double[nLayer + 1];
        ServerRecord[] via = new ServerRecord[nLayer + 1];
        Arrays.fill(dist, Double.POSITIVE_INFINITY);
        dist[0] = 0;
        var queue = new PriorityQueue<double[]>((x, y) -> Double.compare(x[0], y[0]));
        queue.add(new double[]{0, 0});
        while (!queue.isEmpty()) {
            double[] top = queue.poll();
            int at = (int) top[1];
            if (top[0] > dist[at]) continue;
            for (ServerRecord s : servers) {
                if (excluded.contains(s.address()) || s.span().start() != at || s.span().end() > nLayer) continue;
                double d = dist[at] + Math.max(0, cost.applyAsDouble(s));
                int to = s.span().end();
                if (d < dist[to]) {
                    dist[to] = d;
                    via[to] = s;
                    queue.add(new double[]{d, to});
                }
            }
        }
        if (dist[nLayer] == Double.POSITIVE_INFINITY) {
            throw new SwarmException("no usable server covers " + uncovered(servers, nLayer, excluded)
                    + " (banned: " + (excluded.isEmpty() ? "none" : String.join(", ", excluded)) + ")");
        }
        List<RemoteSession.Hop> hops = new ArrayList<>();
        for (int at = nLayer; at > 0; at = via[at].span().start()) {
            hops.add(new RemoteSession.Hop(via[at].address(), via[at].span()));
        }
        Collections.reverse(hops);
        return List.copyOf(hops);
    }

    /** The blocks not reachable from block 0 by chaining usable spans, as ranges. */
    private static String uncovered(List<ServerRecord> servers, int nLayer, Set<String> excluded) {
        boolean[] covered = new boolean[nLayer];
        for (ServerRecord s : servers) {
            if (excluded.contains(s.address())) continue;
            for (int b = s.span().start(); b < Math.min(nLayer, s.span().end()); b++) covered[b] = true;
        }
        List<String> gaps = new ArrayList<>();
        for (int b = 0; b < nLayer; ) {
            if (covered[b]) { b++; continue; }
            int e = b;
            while (e < nLayer && !covered[e]) e++;
            gaps.add("blocks [" + b + ", " + e + ")");
            b = e;
        }
        return gaps.isEmpty() ? "a chain of spans from block 0 to " + nLayer + " (spans do not line up)" : String.join(", ", gaps);
    }

    /** Equal cost for every server: the route with the fewest hops. */
    public static ToDoubleFunction<ServerRecord> hops() {
        return s -> 1;
    }

    /** Cost from measured round trips (ms) and throughput; unknown servers cost as much as the slowest known. */
    public static ToDoubleFunction<ServerRecord> latency(Map<String, Double> rttMillis) {
        double worst = rttMillis.values().stream().mapToDouble(Double::doubleValue).max().orElse(1);
        return s -> rttMillis.getOrDefault(s.address(), worst)
                + (s.throughput() > 0 ? 1000.0 / s.throughput() : 0);
    }
}

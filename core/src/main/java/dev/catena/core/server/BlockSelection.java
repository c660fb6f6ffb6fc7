package dev.catena.core.server;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.ServerRecord;

import java.util.Arrays;
import java.util.List;

/**
 * Which blocks a server should host, after Petals' {@code block_selection}: the span of its size
 * whose blocks are the weakest now (the lexicographically smallest sorted window of per-block
 * throughputs), which most raises the swarm's weakest block. A server moves only when moving would
 * raise the weakest block's throughput by more than {@code 1 / balanceQuality} (hysteresis, so
 * servers do not flap: Petals #389). Servers that have not measured their throughput yet count as
 * the median of those that have (1 when none has).
 */
public final class BlockSelection {
    /** Petals' default: move only for a gain of more than 1 / 0.75 = 1.33x in the weakest block. */
    public static final double DEFAULT_BALANCE_QUALITY = 0.75;

    private BlockSelection() {
    }

    /** What a server counts for: its measured steps/s, or {@code unknown} before it measured any. */
    static double weight(ServerRecord r, double unknown) {
        return r.throughput() > 0 ? r.throughput() : unknown;
    }

    /** The median measured throughput of {@code servers}, or 1 when none has measured one. */
    static double unknownWeight(List<ServerRecord> servers) {
        double[] known = servers.stream().mapToDouble(ServerRecord::throughput).filter(t -> t > 0).sorted().toArray();
        return known.length == 0 ? 1 : known[known.length / 2];
    }

    /** Per block of {@code nLayer}, the summed throughput of the online servers covering it, except {@code self}. */
    public static double[] perBlock(List<ServerRecord> servers, int nLayer, String self) {
        double unknown = unknownWeight(servers);
        double[] t = new double[nLayer];
        for (ServerRecord r : servers) {
            if (r.address().equals(self) || r.state() != ServerRecord.State.ONLINE) continue;
            for (int b = Math.max(0, r.span().start()); b < Math.min(nLayer, r.span().end()); b++) t[b] += weight(r, unknown);
        }
        return t;
    }

    /** The start of the {@code numBlocks}-block window whose sorted throughputs are smallest (ties: the lowest start). */
    public static int chooseStart(double[] perBlock, int numBlocks) {
        if (numBlocks < 1 || numBlocks > perBlock.length) {
            throw new IllegalArgumentException("numBlocks must be in [1, " + perBlock.length + "], got " + numBlocks);
        }
        int best = 0;
        double[] bestWindow = null;
        for (int s = 0; s + numBlocks <= perBlock.length; s++) {
            double[] w = Arrays.copyOfRange(perBlock, s, s + numBlocks);
            Arrays.sort(w);
            if (bestWindow == null || Arrays.compare(w, bestWindow) < 0) {
                best = s;
                bestWindow = w;
            }
        }
        return best;
    }

    /** The span a new server of {@code numBlocks} blocks should host among {@code servers}. */
    public static BlockRange choose(List<ServerRecord> servers, int nLayer, int numBlocks, String self) {
        int start = chooseStart(perBlock(servers, nLayer, self), numBlocks);
        return new BlockRange(start, start + numBlocks);
    }

    /**
     * Where the server {@code self} (hosting {@code current} with throughput {@code mine}) should
     * move, or {@code current} when staying is within {@code balanceQuality} of the best move.
     */
    public static BlockRange rebalance(List<ServerRecord> servers, int nLayer, String self, BlockRange current, double mine,
                                       double balanceQuality) {
        double[] others = perBlock(servers, nLayer, self);
        double weight = mine > 0 ? mine : unknownWeight(servers);
        double now = minWith(others, current, weight);
        int start = chooseStart(others, current.size());
        BlockRange best = new BlockRange(start, start + current.size());
        double after = minWith(others, best, weight);
        if (best.equals(current) || after <= now) return current;
        // Stay unless the weakest block gains more than 1 / balanceQuality (now == 0: a block is uncovered, move).
        return now > 0 && now / after >= balanceQuality ? current : best;
    }

    /** The weakest block's throughput with {@code weight} added over {@code span}. */
    static double minWith(double[] perBlock, BlockRange span, double weight) {
        double min = Double.MAX_VALUE;
        for (int b = 0; b < perBlock.length; b++) {
            min = Math.min(min, perBlock[b] + (span.start() <= b && b < span.end() ? weight : 0));
        }
        return min;
    }
}

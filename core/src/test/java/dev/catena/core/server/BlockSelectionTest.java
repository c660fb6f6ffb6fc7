package dev.catena.core.server;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.ServerRecord;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Petals-style block selection: the weakest window first, and moves only for a clear gain. */
class BlockSelectionTest {
    static ServerRecord s(String address, int a, int b, double throughput) {
        return new ServerRecord(address, "m", new BlockRange(a, b), throughput, 1000, ServerRecord.State.ONLINE);
    }

    @Test
    void newServersFillTheWeakestBlocks() {
        assertEquals(new BlockRange(0, 3), BlockSelection.choose(List.of(), 5, 3, "me"), "an empty swarm: the first blocks");
        assertEquals(new BlockRange(2, 5), BlockSelection.choose(List.of(s("a", 0, 3, 0)), 5, 3, "me"), "the uncovered tail");
        assertEquals(new BlockRange(3, 5), BlockSelection.choose(List.of(s("a", 0, 3, 10), s("b", 3, 5, 4)), 5, 2, "me"),
                "the slower span");
        assertEquals(new BlockRange(0, 2), BlockSelection.choose(List.of(s("me", 0, 2, 10), s("b", 2, 5, 10)), 5, 2, "me"),
                "its own record does not count");
    }

    @Test
    void aServerMovesToCoverLostBlocksButNotForASmallGain() {
        // b hosted 3:5 and left: a (0:3) and c (0:3) double-cover the head, blocks 3 and 4 are uncovered.
        var swarm = List.of(s("a", 0, 3, 10), s("c", 0, 3, 10));
        assertEquals(new BlockRange(2, 5), BlockSelection.rebalance(swarm, 5, "c", new BlockRange(0, 3), 10, 0.75));
        // Covered, 10 vs 12 steps/s: moving would gain less than 1 / 0.75, so it stays.
        var balanced = List.of(s("a", 0, 3, 12), s("b", 2, 5, 10), s("c", 0, 3, 12));
        assertEquals(new BlockRange(0, 3), BlockSelection.rebalance(balanced, 5, "c", new BlockRange(0, 3), 12, 0.75));
        // Head covered 3x, tail once and slowly: a gain of 3x is worth a move.
        var skewed = List.of(s("a", 0, 3, 10), s("b", 3, 5, 5), s("c", 0, 3, 10), s("d", 0, 3, 10));
        assertEquals(new BlockRange(2, 5), BlockSelection.rebalance(skewed, 5, "d", new BlockRange(0, 3), 10, 0.75));
        assertEquals(new BlockRange(0, 3), BlockSelection.rebalance(skewed, 5, "d", new BlockRange(0, 3), 10, 0.0), "0 never moves");
    }

    @Test
    void serversJoiningOneByOneCoverTheModelAndThenStayPut() {
        long seed = Long.getLong("catena.test.seed", System.nanoTime());
        var rnd = new Random(seed);
        int nLayer = 5 + rnd.nextInt(20);
        List<ServerRecord> swarm = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            int n = 1 + rnd.nextInt(nLayer);
            var span = BlockSelection.choose(swarm, nLayer, n, "s" + i);
            swarm.add(s("s" + i, span.start(), span.end(), 1 + rnd.nextInt(20)));
        }
        int total = swarm.stream().mapToInt(r -> r.span().size()).sum();
        if (total >= nLayer) {
            double[] t = BlockSelection.perBlock(swarm, nLayer, "");
            for (double x : t) assertTrue(x > 0, "every block covered when the servers hold enough blocks; seed " + seed);
        }
        // Each server in turn checks whether to move, for several rounds: the swarm settles (no flapping).
        // Each move raises the weakest block by more than 4/3 and the first makes it >= 1, so with at
        // most 6 x 20 steps/s in all there are at most 1 + log(120) / log(4/3) < 18 moves.
        int moves = 0;
        for (int round = 0; round < 20; round++) {
            for (int i = 0; i < swarm.size(); i++) {
                var r = swarm.get(i);
                var to = BlockSelection.rebalance(swarm, nLayer, r.address(), r.span(), r.throughput(), 0.75);
                if (!to.equals(r.span())) {
                    moves++;
                    swarm.set(i, s(r.address(), to.start(), to.end(), r.throughput()));
                }
            }
        }
        assertTrue(moves < 18, moves + " moves in 20 rounds of 6 servers: it flaps; seed " + seed);
        for (int i = 0; i < swarm.size(); i++) {
            var r = swarm.get(i);
            assertEquals(r.span(), BlockSelection.rebalance(swarm, nLayer, r.address(), r.span(), r.throughput(), 0.75),
                    "settled; seed " + seed);
        }
    }
}

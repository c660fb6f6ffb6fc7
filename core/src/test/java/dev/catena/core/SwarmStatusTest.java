package dev.catena.core;

import dev.catena.api.BlockRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Coverage and gaps of a {@link SwarmStatus}, from servers' spans and states. */
class SwarmStatusTest {

    static SwarmStatus.Server server(String address, int start, int end, SwarmStatus.State state, boolean reachable) {
        return new SwarmStatus.Server(address, new BlockRange(start, end), state, reachable, 0, 0, 0, 0, 0, -1, 0, 0, "");
    }

    @Test
    void onlyReachableOnlineOrLocalServersCover() {
        var servers = List.of(server("a", 0, 4, SwarmStatus.State.ONLINE, true), server("b", 2, 6, SwarmStatus.State.ONLINE, false),
                server("c", 6, 8, SwarmStatus.State.JOINING, true), server("d", 7, 10, SwarmStatus.State.LOCAL, true),
                server("e", 3, 5, SwarmStatus.State.OFFLINE, true));
        List<Integer> coverage = SwarmStatus.coverage(10, servers);
        assertEquals(List.of(1, 1, 1, 1, 0, 0, 0, 1, 1, 1), coverage);
        assertEquals(List.of(new BlockRange(4, 7)), SwarmStatus.gaps(coverage));
    }

    @Test
    void gapsAreTheMaximalRunsOfZeros() {
        assertEquals(List.of(), SwarmStatus.gaps(List.of(1, 2, 1)));
        assertEquals(List.of(new BlockRange(0, 3)), SwarmStatus.gaps(List.of(0, 0, 0)));
        assertEquals(List.of(new BlockRange(0, 1), new BlockRange(2, 4)), SwarmStatus.gaps(List.of(0, 1, 0, 0)));
        assertEquals(List.of(), SwarmStatus.gaps(List.of()));
    }

    @Test
    void randomSpansAgreeWithACountPerBlock() {
        long seed = new Random().nextLong();
        var rnd = new Random(seed);
        for (int round = 0; round < 200; round++) {
            int blocks = 1 + rnd.nextInt(40);
            List<SwarmStatus.Server> servers = new ArrayList<>();
            int[] expected = new int[blocks];
            for (int i = rnd.nextInt(6); i > 0; i--) {
                int a = rnd.nextInt(blocks), b = a + 1 + rnd.nextInt(blocks - a);
                boolean reachable = rnd.nextBoolean();
                servers.add(server("s" + i, a, b, SwarmStatus.State.ONLINE, reachable));
                if (reachable) for (int k = a; k < b; k++) expected[k]++;
            }
            List<Integer> coverage = SwarmStatus.coverage(blocks, servers);
            assertEquals(java.util.Arrays.stream(expected).boxed().toList(), coverage, "seed " + seed);
            int holes = 0;
            for (BlockRange g : SwarmStatus.gaps(coverage)) {
                for (int k = g.start(); k < g.end(); k++) assertEquals(0, expected[k], "seed " + seed);
                if (g.start() > 0) assertEquals(true, expected[g.start() - 1] > 0, "seed " + seed + ": gaps are maximal");
                holes += g.size();
            }
            assertEquals(java.util.Arrays.stream(expected).filter(c -> c == 0).count(), holes, "seed " + seed);
        }
    }
}

package dev.catena.core.client;

import dev.catena.core.SwarmException;
import dev.catena.api.BlockRange;
import dev.catena.api.directory.ServerRecord;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RoutePlannerTest {
    static ServerRecord server(String address, int start, int end, double throughput) {
        return new ServerRecord(address, "m", new BlockRange(start, end), throughput, Long.MAX_VALUE, ServerRecord.State.ONLINE);
    }

    @Test
    void lowerRoundTripsWinOverFewerHops() {
        var servers = List.of(server("far", 0, 4, 0), server("near-a", 0, 2, 0), server("near-b", 2, 4, 0));
        var route = RoutePlanner.plan(servers, 4, Set.of(), RoutePlanner.latency(Map.of("far", 50.0, "near-a", 1.0, "near-b", 1.0)));
        assertEquals(List.of(new Hop("near-a", new BlockRange(0, 2)), new Hop("near-b", new BlockRange(2, 4))), route);
        var fewest = RoutePlanner.plan(servers, 4, Set.of(), RoutePlanner.hops());
        assertEquals(List.of(new Hop("far", new BlockRange(0, 4))), fewest);
    }

    @Test
    void partsOfSpansAreUsedAndTheFasterServerRunsMoreBlocks() {
        // slow: 100 ms a step over 3 blocks; fast: 1 ms over 3 blocks. Equal round trips.
        var servers = List.of(server("slow", 0, 3, 10), server("fast", 1, 4, 1000));
        var route = RoutePlanner.plan(servers, 4, Set.of(), RoutePlanner.latency(Map.of("slow", 1.0, "fast", 1.0)));
        assertEquals(List.of(new Hop("slow", new BlockRange(0, 1)), new Hop("fast", new BlockRange(1, 4))), route);
    }

    @Test
    void aSubRangeIsPlannedAloneAndBannedServersAreSkipped() {
        var servers = List.of(server("a", 0, 4, 0), server("b", 2, 3, 0), server("c", 3, 6, 0));
        var route = RoutePlanner.plan(servers, new BlockRange(2, 4), Set.of("a"), RoutePlanner.hops());
        assertEquals(List.of(new Hop("b", new BlockRange(2, 3)), new Hop("c", new BlockRange(3, 4))), route);
        assertEquals(List.of(new Hop("a", new BlockRange(2, 4))), RoutePlanner.plan(servers, new BlockRange(2, 4), Set.of(), RoutePlanner.hops()));
    }

    @Test
    void uncoveredBlocksAreNamed() {
        var servers = List.of(server("a", 0, 2, 0), server("b", 3, 5, 0), server("c", 5, 8, 0));
        var e = assertThrows(SwarmException.class, () -> RoutePlanner.plan(servers, 8, Set.of("c"), RoutePlanner.hops()));
        assertTrue(e.getMessage().contains("no usable server covers blocks [2, 3), blocks [5, 8) (banned: c)"), e.getMessage());
    }

    /** On random swarms, every route chains over the range exactly, each hop within its server's span. */
    @Test
    void randomSwarmsGiveValidRoutes() {
        long seed = Long.getLong("catena.test.seed", 42L);
        var random = new Random(seed);
        for (int trial = 0; trial < 200; trial++) {
            int nLayer = 1 + random.nextInt(24);
            List<ServerRecord> servers = new java.util.ArrayList<>();
            int count = 1 + random.nextInt(8);
            for (int s = 0; s < count; s++) {
                int a = random.nextInt(nLayer);
                servers.add(server("s" + s, a, a + 1 + random.nextInt(nLayer - a), random.nextInt(3) * 50.0));
            }
            List<Hop> route;
            try {
                route = RoutePlanner.plan(servers, nLayer, Set.of(), RoutePlanner.latency(Map.of("s0", 2.0, "s1", 0.5)));
            } catch (SwarmException uncovered) {
                assertTrue(uncovered.getMessage().contains("no usable server covers blocks"), "seed " + seed + ": " + uncovered.getMessage());
                continue;
            }
            int at = 0;
            for (Hop h : route) {
                assertEquals(at, h.blocks().start(), "seed " + seed + " trial " + trial + ": " + route);
                var span = servers.stream().filter(s -> s.address().equals(h.address())).findFirst().orElseThrow().span();
                assertTrue(span.start() <= h.blocks().start() && h.blocks().end() <= span.end(), "seed " + seed + ": " + h);
                at = h.blocks().end();
            }
            assertEquals(nLayer, at, "seed " + seed + " trial " + trial);
        }
    }
}

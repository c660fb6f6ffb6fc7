package dev.catena.core.chaos;

import dev.catena.testing.LinkProxy;
import dev.catena.core.client.RemoteSession.Mode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Map;

import static dev.catena.core.chaos.ProxiedCluster.CLEAN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Faults on real TCP links, through a user-space proxy per (source, destination) pair (see {@link ProxiedCluster}). */
class ChaosTest {
    static final long SEED = Long.getLong("catena.test.seed", 777L);
    ProxiedCluster cluster;

    @BeforeEach
    void start() throws Exception {
        cluster = new ProxiedCluster(SEED);
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void aResetLinkFailsOver(Mode mode) {
        var run = cluster.generate(mode, Map.of(5, s -> cluster.clientLinkOfHop(s, 1).resetConnections()));
        assertArrayEquals(CLEAN, run.tokens(), "seed " + SEED);
        assertEquals(1, run.failovers().size(), run.failovers().toString());
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void aHangingServerTimesOutAndFailsOver(Mode mode) {
        var run = cluster.generate(mode, Map.of(4, s -> cluster.clientLinkOfHop(s, 1).fault(LinkProxy.Fault.BLACKHOLE)));
        assertArrayEquals(CLEAN, run.tokens(), "seed " + SEED);
        assertTrue(run.failovers().size() >= 1, run.failovers().toString());
        assertTrue(run.failovers().getFirst().reason().contains("no valid result") || run.failovers().getFirst().reason().contains("did not answer"),
                run.failovers().toString());
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void corruptedBytesAreDetectedAndFailedOver(Mode mode) {
        var run = cluster.generate(mode, Map.of(3, s -> cluster.clientLinkOfHop(s, 0).corruptOneIn(200)));
        assertArrayEquals(CLEAN, run.tokens(), "seed " + SEED + ": corruption never reaches the output");
        assertTrue(run.failovers().size() >= 1, "seed " + SEED + ": " + run.failovers());
    }

    @Test
    void lostPushesAreCoveredByTheClientsCopies() {
        cluster.serverLinks.values().forEach(p -> p.fault(LinkProxy.Fault.BLACKHOLE)); // every push vanishes
        var run = cluster.generate(Mode.PUSH, Map.of());
        assertArrayEquals(CLEAN, run.tokens());
        assertEquals(0, run.failovers().size(), "lost pushes are not failures");
        assertEquals(0, cluster.servers.stream().mapToLong(s -> s.counters().pushesUsed.get()).sum());
    }

    /**
     * A server that accepts connections and never answers, announced from the start: the client's
     * round-trip pings (all at once, 2 s at most) leave it out of the route, so it costs one ping,
     * not a request timeout (60 s here), and is never a failover.
     */
    @Test
    @org.junit.jupiter.api.Timeout(30)
    void aHungServerInTheDirectoryCostsOnePing() {
        cluster.clientLinks.get(cluster.servers.get(0).address()).fault(LinkProxy.Fault.BLACKHOLE);
        cluster.clientLinks.get(cluster.servers.get(2).address()).fault(LinkProxy.Fault.BLACKHOLE);
        var run = cluster.generate(Mode.PUSH, Map.of(), java.time.Duration.ofSeconds(60));
        assertArrayEquals(CLEAN, run.tokens(), "seed " + SEED);
        assertEquals(0, run.failovers().size(), run.failovers().toString());
    }

    @Test
    void aSlowLinkOnlySlowsDown() {
        cluster.clientLinks.values().forEach(p -> p.delay(20, 5));
        var run = cluster.generate(Mode.PUSH, Map.of());
        assertArrayEquals(CLEAN, run.tokens());
        assertEquals(0, run.failovers().size());
        assertTrue(cluster.servers.stream().mapToLong(s -> s.counters().pushesUsed.get()).sum() > 0,
                "with a slow client link the pushes win");
    }
}

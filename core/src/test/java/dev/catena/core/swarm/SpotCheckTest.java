package dev.catena.core.swarm;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Proofs;
import dev.catena.core.client.FaultTolerantSession;
import dev.catena.core.client.Hop;
import dev.catena.core.client.RemoteSession.Mode;
import dev.catena.core.server.SwarmServer;
import dev.catena.testing.CountingBackend;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static dev.catena.core.swarm.FaultToleranceTest.ID;
import static dev.catena.core.swarm.FaultToleranceTest.MODEL;
import static dev.catena.core.swarm.FaultToleranceTest.POLICY;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Spot checks catch a server that lies consistently (issue 14): it signs wrong outputs that the tokens do
 * not show and that no digest chain can catch (its own outputs are what the next hop computes on).
 */
class SpotCheckTest {
    static final long SEED = 1414;

    @ParameterizedTest
    @EnumSource(Mode.class)
    void aConsistentLiarIsCaughtProvedOfflineAndBannedAndTheTokensStay(Mode mode) {
        var backend = new CountingBackend(4);
        var liarBackend = new CountingBackend(4);
        // Element 1 of every row: the counting head reads element 0 only, so the tokens cannot tell.
        liarBackend.tamper = out -> {
            for (int i = 1; i < out.length; i += CountingBackend.N_EMBD) out[i] += 0.5f;
        };
        var a = new BlockRange(0, 2);
        var b = new BlockRange(2, 4);
        try (var c = new FaultToleranceTest.Cluster(backend, MODEL, ID, a); var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            SwarmServer liar = c.announce(c.start(liarBackend, MODEL, ID, b)); // alone on [2, 4) at first: the route takes it
            List<SwarmServer> honest = List.of(c.start(backend, MODEL, ID, b), c.start(backend, MODEL, ID, b));
            c.client.spotChecks(1.0, SEED);
            var failovers = new ArrayList<FaultTolerantSession.Failover>();
            List<List<Hop>> routes = new ArrayList<>();
            var g = FaultToleranceTest.run(c, head, MODEL, ID, mode, 20, "3", POLICY, (token, session) -> {
                if (token == 1) honest.forEach(c::announce); // others to check with, once the liar is on the route
                session.awaitSpotChecks();                   // deterministic: each check ends before the next step
                routes.add(session.route());
            }, failovers);
            assertArrayEquals(FaultToleranceTest.counting(3, 4, 20), g.tokens(), "seed " + SEED + ": the tokens stay");
            assertEquals(Set.of(liar.address()), c.client.convicted(), "seed " + SEED + ": the liar, and only it, is convicted");
            assertTrue(routes.getFirst().stream().anyMatch(h -> h.address().equals(liar.address())), "the liar was on the route");
            assertFalse(routes.getLast().stream().anyMatch(h -> h.address().equals(liar.address())), "and is off it now: " + routes.getLast());
            assertTrue(c.client.counters().spotCheckDisagreements.get() >= 1);
            var proofs = c.client.proofs();
            assertEquals(1, proofs.size());
            var verdict = Proofs.verify(proofs.getFirst().toByteArray(), "spot-check proof");
            assertEquals(Proofs.Status.PROVED, verdict.status(), verdict.message());
            assertArrayEquals(liar.identity().publicKey().getEncoded(), verdict.key().getEncoded(), "the proof names the liar's key");
            // Convicted by its key too: the same identity at another address is not used either.
            var again = dev.catena.core.server.SwarmServer.start(new dev.catena.core.server.SwarmServer.Config(MODEL, ID, b,
                    SpanOptions.cpu(1), "memory:0", 1L << 30, java.time.Duration.ofMinutes(1), 1), liarBackend, c.transport, liar.identity());
            try {
                assertFalse(c.client.isConvicted(again.address()), "not known before it is connected to");
                c.client.link(again.address());
                assertTrue(c.client.isConvicted(again.address()), "the liar's key at a new address");
            } finally {
                again.close();
            }
            // Offline, the proof stands on its own; with one statement removed it no longer does.
            var cut = proofs.getFirst().toBuilder().removeStatements(0).build();
            assertEquals(Proofs.Status.NOT_PROVED, Proofs.verify(cut.toByteArray(), "cut").status());
        }
    }

    /**
     * The fraction is of the work: a check replays a hop's whole history, so checks drawn at 10 % of the steps
     * replayed 58 % of the route's work over 30-token generations; the replay budget holds them to 10 %, plus at
     * most one check's cost (a check may take the budget into debt).
     */
    @org.junit.jupiter.api.Test
    void spotChecksReplayAtMostTheirFractionOfTheWork() {
        var backend = new CountingBackend(4);
        double fraction = 0.1;
        try (var c = new FaultToleranceTest.Cluster(backend, MODEL, ID, new BlockRange(0, 2), new BlockRange(2, 4),
                new BlockRange(0, 2), new BlockRange(2, 4)); var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            java.util.function.LongSupplier steps = () -> c.servers.stream().mapToLong(sv -> sv.counters().steps.get()).sum();
            long before = steps.getAsLong();
            for (int g = 0; g < 4; g++) {
                FaultToleranceTest.run(c, head, MODEL, ID, Mode.PUSH, 30, "3", POLICY, (token, session) -> { }, new ArrayList<>());
            }
            long routeWork = steps.getAsLong() - before; // no checks yet: only the generations' own hop-steps
            c.client.spotChecks(fraction, SEED);
            before = steps.getAsLong();
            for (int g = 0; g < 4; g++) {
                FaultToleranceTest.run(c, head, MODEL, ID, Mode.PUSH, 30, "3", POLICY, (token, session) -> session.awaitSpotChecks(),
                        new ArrayList<>());
            }
            long replayed = steps.getAsLong() - before - routeWork;
            long checks = c.client.counters().spotChecks.get();
            assertTrue(checks >= 1, "seed " + SEED + ": some check was made (" + c.client.counters().spotChecksSkipped.get() + " skipped)");
            long oneCheck = 32; // a whole history: the prompt's step and 30 tokens, and a step's slack
            assertTrue(replayed <= fraction * routeWork + oneCheck, "seed " + SEED + ": " + checks + " checks replayed " + replayed
                    + " hop-steps, over " + fraction + " of the " + routeWork + " run and one check");
            assertEquals(0, c.client.counters().spotCheckDisagreements.get(), "honest servers agree");
        }
    }
}

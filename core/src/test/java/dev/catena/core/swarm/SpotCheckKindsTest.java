package dev.catena.core.swarm;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Proofs;
import dev.catena.core.client.Hop;
import dev.catena.core.client.RemoteSession.Mode;
import dev.catena.core.server.SwarmServer;
import dev.catena.testing.CountingBackend;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import static dev.catena.core.swarm.FaultToleranceTest.ID;
import static dev.catena.core.swarm.FaultToleranceTest.MODEL;
import static dev.catena.core.swarm.FaultToleranceTest.POLICY;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Spot checks across compute kinds (issue 14): servers that state different kinds (another CPU variant, a
 * GPU) are compared within a tolerance, so honest rounding noise convicts no one and a gross lie still does;
 * servers of one kind are still compared bit for bit.
 */
class SpotCheckKindsTest {
    static final long SEED = 1415;
    static final BlockRange A = new BlockRange(0, 2);
    static final BlockRange B = new BlockRange(2, 4);

    /** Adds {@code relative} × the row's scale (element 0), seeded, to elements 1.. of every row: the tokens read element 0 only. */
    static Consumer<float[]> noise(double relative, long seed) {
        var random = new SplittableRandom(seed);
        return out -> {
            for (int row = 0; row < out.length; row += CountingBackend.N_EMBD) {
                float scale = Math.abs(out[row]);
                for (int i = row + 1; i < row + CountingBackend.N_EMBD; i++) out[i] += (float) (relative * scale * random.nextDouble(-1, 1));
            }
        };
    }

    /** Moves element 1 of every row by {@code relative} × the row's scale: a lie the tokens cannot show. */
    static Consumer<float[]> lie(double relative) {
        return out -> {
            for (int row = 0; row < out.length; row += CountingBackend.N_EMBD) out[row + 1] += (float) (relative * Math.abs(out[row]));
        };
    }

    /** Moves every element but the row's scale (element 0) by {@code relative} × that scale: hidden under the outlier. */
    static Consumer<float[]> spreadLie(double relative) {
        return out -> {
            for (int row = 0; row < out.length; row += CountingBackend.N_EMBD) {
                for (int i = row + 1; i < row + CountingBackend.N_EMBD; i++) out[i] += (float) (relative * Math.abs(out[row]));
            }
        };
    }

    static CountingBackend backend(String kind, Consumer<float[]> tamper) {
        var b = new CountingBackend(4);
        b.computeKind = kind;
        b.tamper = tamper;
        return b;
    }

    record Outcome(int[] tokens, Set<String> convicted, long disagreements, long checks, List<dev.catena.transport.proto.Proof> proofs,
                   String routed) {
    }

    /** Runs 20 tokens with {@code routed} alone on [2, 4) at first, then two {@code others} announced to check with. */
    static Outcome generate(CountingBackend routedBackend, List<CountingBackend> others) {
        return generate(routedBackend, others, 0.1);
    }

    static Outcome generate(CountingBackend routedBackend, List<CountingBackend> others, double tolerance) {
        var backend = new CountingBackend(4);
        try (var c = new FaultToleranceTest.Cluster(backend, MODEL, ID, A); var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            SwarmServer routed = c.announce(c.start(routedBackend, MODEL, ID, B));
            List<SwarmServer> checkers = others.stream().map(o -> c.start(o, MODEL, ID, B)).toList();
            c.client.spotChecks(1.0, SEED);
            c.client.spotCheckTolerance(tolerance);
            List<List<Hop>> routes = new ArrayList<>();
            var g = FaultToleranceTest.run(c, head, MODEL, ID, Mode.RELAY, 20, "3", POLICY, (token, session) -> {
                if (token == 1) checkers.forEach(c::announce);
                session.awaitSpotChecks(); // deterministic: each check ends before the next step
                routes.add(session.route());
            }, new ArrayList<>());
            assertTrue(routes.getFirst().stream().anyMatch(h -> h.address().equals(routed.address())), "seed " + SEED + ": routed first");
            return new Outcome(g.tokens(), c.client.convicted(), c.client.counters().spotCheckDisagreements.get(),
                    c.client.counters().spotChecks.get(), List.copyOf(c.client.proofs()), routed.address());
        }
    }

    @Test
    void honestServersOfDifferentKindsWithRoundingNoiseAreNotConvicted() {
        // Noise up to 3e-2 of the row's scale in every other element, on every step of two of them: about how far two real
        // ggml paths land apart (AVX2 vs AVX-512 kernels, f16 vs f32 KV: up to 2.6e-2 in L2 and 3.1e-2 in the largest
        // element over Llama 3.2 1B, BENCHMARKS.md); here up to 5.2e-2 in L2.
        var o = generate(backend("counting/zen4", noise(3e-2, SEED)),
                List.of(backend("counting/haswell", out -> { }), backend("counting/cuda", noise(3e-2, SEED + 1))));
        assertArrayEquals(FaultToleranceTest.counting(3, 4, 20), o.tokens(), "seed " + SEED + ": the tokens stay");
        assertTrue(o.checks() >= 5, "seed " + SEED + ": spot checks ran: " + o.checks());
        assertEquals(0, o.disagreements(), "seed " + SEED + ": within the tolerance, no disagreement");
        assertEquals(Set.of(), o.convicted(), "seed " + SEED + ": no honest server convicted");
    }

    @Test
    void aGrossLiarOfAnotherKindIsCaughtWithoutAnOfflineProof() {
        // 5x the tolerance, on every step: the liar's kind differs from both checkers', so only values can tell.
        var liar = backend("counting/liar-gpu", lie(0.5));
        var o = generate(liar, List.of(backend("counting/haswell", out -> { }), backend("counting/zen4", noise(3e-2, SEED + 1))));
        assertArrayEquals(FaultToleranceTest.counting(3, 4, 20), o.tokens(), "seed " + SEED + ": the tokens stay");
        assertEquals(Set.of(o.routed()), o.convicted(), "seed " + SEED + ": the liar, and only it, is convicted");
        assertTrue(o.disagreements() >= 1);
        assertEquals(List.of(), o.proofs(), "a verdict within a tolerance has no majority proof (that format states bit-equality)");
    }

    @Test
    void aLieSpreadUnderTheRowsOutlierIsCaughtAcrossKinds() {
        // Every element but the outlier moved by 9% of it: within 10% of the row's largest element, which alone let it
        // through; 0.16 in L2.
        var o = generate(backend("counting/liar", spreadLie(0.09)), List.of(backend("counting/a", out -> { }), backend("counting/b", out -> { })));
        assertEquals(Set.of(o.routed()), o.convicted(), "seed " + SEED + ": the liar, and only it, is convicted");
        assertArrayEquals(FaultToleranceTest.counting(3, 4, 20), o.tokens(), "seed " + SEED + ": the tokens stay");
        assertEquals(List.of(), o.proofs(), "across kinds: no offline proof");
    }

    @Test
    void sameKindWithTinyNoiseIsStillCaughtBitForBitWithAProof() {
        // The same noise the tolerance lets through across kinds: one kind must be bit-equal.
        var o = generate(backend("counting/zen4", noise(2e-5, SEED)), List.of(backend("counting/zen4", out -> { }),
                backend("counting/zen4", out -> { })));
        assertArrayEquals(FaultToleranceTest.counting(3, 4, 20), o.tokens(), "seed " + SEED + ": the tokens stay");
        assertEquals(Set.of(o.routed()), o.convicted(), "seed " + SEED + ": bit-equality convicts the noisy one of one kind");
        assertEquals(1, o.proofs().size());
        var verdict = Proofs.verify(o.proofs().getFirst().toByteArray(), "spot-check proof");
        assertEquals(Proofs.Status.PROVED, verdict.status(), verdict.message());
    }

    @Test
    void aLieBelowTheToleranceIsNotCaughtAcrossKindsButATighterToleranceCatchesIt() {
        // The documented limit: 5% of the row's scale passes the default 10% across kinds...
        var o = generate(backend("counting/liar", lie(0.05)), List.of(backend("counting/a", out -> { }), backend("counting/b", out -> { })));
        assertEquals(Set.of(), o.convicted(), "seed " + SEED + ": below the tolerance");
        assertEquals(0, o.disagreements());
        // ...and a swarm whose kinds land closer together can say so.
        var tight = generate(backend("counting/liar", lie(0.05)), List.of(backend("counting/a", out -> { }), backend("counting/b", out -> { })), 0.01);
        assertEquals(Set.of(tight.routed()), tight.convicted(), "seed " + SEED + ": caught within a 1% tolerance");
        assertArrayEquals(FaultToleranceTest.counting(3, 4, 20), tight.tokens(), "seed " + SEED + ": the tokens stay");
    }
}

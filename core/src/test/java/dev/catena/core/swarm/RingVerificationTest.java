package dev.catena.core.swarm;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Identity;
import dev.catena.core.client.RemoteSession.Mode;
import dev.catena.core.client.RingSpec;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.core.server.SwarmServer;
import dev.catena.testing.LyingRingTransport;
import dev.catena.testing.LyingRingTransport.Lie;
import dev.catena.transport.spi.Transport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Ring mode against a last server that lies (about the token it hands on, or about the hidden state
 * it reports), a server killed mid-ring, and a client that stops acknowledging: the client detects
 * and rewinds, the output equals the single-process run, and the servers never run more than the
 * window ahead of what the client verified.
 */
class RingVerificationTest {
    static final int N = 24;

    @BeforeAll
    static void open() {
        RingModeTest.open();
    }

    @ParameterizedTest(name = "{0}, sampled {1}")
    @CsvSource({"TOKEN, false", "TOKEN, true", "HIDDEN, false", "HIDDEN, true"})
    void aLyingLastServerIsCaughtAndRewound(Lie lie, boolean sampled) {
        SamplingParams sampling = sampled ? RingModeTest.SAMPLED : SamplingParams.greedyDecoding();
        var local = RingModeTest.local(sampling);
        Identity liarIdentity = Identity.generate();
        Set<Integer> lied = ConcurrentHashMap.newKeySet();
        // Lies at every third position after the prompt, once each: its answer to the client's own copy is honest.
        int prompt = local.promptTokens().length;
        try (Transport t = SwarmEquivalenceTest.transport("memory");
             var liar = new LyingRingTransport(t, lie, p -> p >= prompt && p % 3 == 0 && lied.add(p), liarIdentity.privateKey());
             var cluster = new RingCluster(RingModeTest.backend, RingModeTest.MODEL, 3, i -> i == 2 ? liar : t, t, "memory:0",
                     i -> i == 2 ? liarIdentity : Identity.generate());
             ModelHead head = RingModeTest.backend.openHead(RingModeTest.MODEL, SpanOptions.cpu(1))) {
            long[] ring = new long[2];
            var g = cluster.generate(head, Mode.RING, RingModeTest.PROMPT, N, sampling, (i, s) -> { }, ring);
            assertArrayEquals(local.tokens(), g.tokens(), "tokens");
            for (int i = 0; i < N; i++) assertArrayEquals(local.logits().get(i), g.logits().get(i), "logits of token " + i);
            assertTrue(liar.lies.get() >= 5, "the last server lied " + liar.lies.get() + " times");
            // Every lie that reached the client was caught; lies in steps the ring ran ahead of a rewind never reached it.
            assertTrue(ring[1] >= 3 && ring[1] <= liar.lies.get(), ring[1] + " rewinds for " + liar.lies.get() + " lies");
            assertEquals(N - 1 - ring[1], ring[0], "every other step was verified in the ring");
            // It signed what it told the first server and what it told the client: one input, two statements, a proof.
            var proofs = cluster.client.proofs();
            assertTrue(!proofs.isEmpty(), "no proof for " + ring[1] + " caught lies");
            for (var proof : proofs) {
                var verdict = dev.catena.core.Proofs.verify(proof.toByteArray(), "ring proof");
                assertEquals(dev.catena.core.Proofs.Status.PROVED, verdict.status(), verdict.message());
                assertArrayEquals(liarIdentity.publicKey().getEncoded(), verdict.key().getEncoded(), verdict.message());
            }
            System.out.println(lie + ": " + proofs.size() + " proofs for " + ring[1] + " caught lies");
            cluster.assertNothingLeft();
        }
    }

    @Test
    void aServerKilledMidRingIsReplacedAndTheRingClosesThroughItsReplacement() {
        var local = RingModeTest.local(SamplingParams.greedyDecoding());
        try (Transport t = SwarmEquivalenceTest.transport("memory");
             var cluster = new RingCluster(RingModeTest.backend, RingModeTest.MODEL, 3, i -> t, t, "memory:0", i -> Identity.generate());
             ModelHead head = RingModeTest.backend.openHead(RingModeTest.MODEL, SpanOptions.cpu(1))) {
            int nLayer = RingModeTest.backend.inspect(RingModeTest.MODEL).nLayer();
            BlockRange lastSpan = BlockRange.even(nLayer, 3).get(2);
            long[] ring = new long[2];
            SwarmServer[] replica = new SwarmServer[1];
            var g = cluster.generate(head, Mode.RING, RingModeTest.PROMPT, N, SamplingParams.greedyDecoding(), (i, s) -> {
                if (i == 8) { // the last server (which samples) dies mid-ring; a replica joins
                    replica[0] = cluster.add(lastSpan, t, "memory:0", Identity.generate());
                    cluster.servers.get(2).close();
                }
            }, ring);
            assertArrayEquals(local.tokens(), g.tokens(), "tokens");
            for (int i = 0; i < N; i++) assertArrayEquals(local.logits().get(i), g.logits().get(i), "logits of token " + i);
            assertTrue(replica[0].counters().ringTokensSent.get() >= 8, "the ring closed through the replacement: "
                    + replica[0].counters().snapshot());
            assertTrue(ring[0] >= N - 1 - 2, "ring steps verified: " + ring[0]);
            cluster.assertNothingLeft();
        }
    }

    @Test
    void serversStopWithinTheWindowWhenTheClientStopsAcknowledgingAndFreeAllWhenItGoes() throws Exception {
        try (Transport t = SwarmEquivalenceTest.transport("memory");
             var cluster = new RingCluster(RingModeTest.backend, RingModeTest.MODEL, 3, i -> t, t, "memory:0", i -> Identity.generate());
             ModelHead head = RingModeTest.backend.openHead(RingModeTest.MODEL, SpanOptions.cpu(1))) {
            int[] prompt = head.tokenize(RingModeTest.PROMPT, true);
            var session = cluster.session(Mode.RING);
            var loop = new GenerationLoop(head, session, prompt, prompt, 0, 200, SamplingParams.greedyDecoding(), false, false);
            for (int i = 0; i < 5; i++) loop.next(); // the prefill and 4 ring steps, verified; then the client goes quiet
            SwarmServer last = cluster.servers.get(2);
            // Acknowledged: every position below prompt + 3 (the last ring step's input). Ring steps run at positions
            // below that plus W: W + 3 of them, each sending a token, after the prefill's.
            long bound = RingSpec.DEFAULT_WINDOW + 4;
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (last.counters().ringTokensSent.get() < bound && System.nanoTime() < deadline) Thread.sleep(5);
            Thread.sleep(300);
            assertEquals(bound, last.counters().ringTokensSent.get(), "the ring ran exactly the window ahead, then stalled");
            assertEquals(bound, cluster.servers.get(0).counters().ringTokensReceived.get(), "the first server received every token");
            cluster.client.close(); // the client vanishes: its connections close
            cluster.assertNothingLeft();
            loop.close();
        }
    }

    /** A client re-sending its prompt over and over: each of its steps lets the ring run at most the window of steps. */
    @Test
    void aClientRewindingOverAndOverGetsAtMostTheWindowPerStep() throws Exception {
        int rewinds = 20;
        try (Transport t = SwarmEquivalenceTest.transport("memory");
             var cluster = new RingCluster(RingModeTest.backend, RingModeTest.MODEL, 3, i -> t, t, "memory:0", i -> Identity.generate());
             ModelHead head = RingModeTest.backend.openHead(RingModeTest.MODEL, SpanOptions.cpu(1))) {
            int[] prompt = head.tokenize(RingModeTest.PROMPT, true);
            float[] hidden = head.embed(prompt);
            var route = cluster.servers.stream().map(s -> new dev.catena.core.client.Hop(s.address(), s.blocks())).toList();
            var spec = new RingSpec(SamplingParams.greedyDecoding(), prompt, 200, false, RingSpec.DEFAULT_WINDOW);
            try (var session = dev.catena.core.client.RemoteSession.open(cluster.client, cluster.modelId, head.nEmbd(), route, Mode.RING,
                    256, dev.catena.transport.proto.DType.F32, java.time.Duration.ofSeconds(30), true, spec)) {
                for (int i = 0; i < rewinds; i++) {
                    session.step(hidden, prompt.length, 0);
                    Thread.sleep(20); // time for the ring to run to the window's end
                }
                Thread.sleep(300);
                for (SwarmServer s : cluster.servers) {
                    var c = s.counters();
                    assertTrue(c.steps.get() <= c.clientSteps.get() * (1 + RingSpec.DEFAULT_WINDOW), s.address() + ": " + c.snapshot());
                }
                // And the ring did run ahead of the client (this is a bound, not an idle swarm).
                assertTrue(cluster.servers.getLast().counters().ringTokensSent.get() > rewinds,
                        cluster.servers.getLast().counters().snapshot().toString());
            }
            cluster.assertNothingLeft();
        }
    }

    /** Tokens lost between servers stall the ring: each stalled step is taken from the client's copy; after two, push mode. */
    @Test
    void aRingThatKeepsStallingGoesOnInPushMode() {
        var local = RingModeTest.local(SamplingParams.greedyDecoding());
        int prompt = local.promptTokens().length;
        try (Transport t = SwarmEquivalenceTest.transport("memory");
             var dropper = new LyingRingTransport(t, Lie.DROP, p -> p >= prompt + 4, null);
             var cluster = new RingCluster(RingModeTest.backend, RingModeTest.MODEL, 3, i -> i == 2 ? dropper : t, t, "memory:0",
                     i -> Identity.generate());
             ModelHead head = RingModeTest.backend.openHead(RingModeTest.MODEL, SpanOptions.cpu(1))) {
            cluster.policy = new dev.catena.core.client.FaultTolerantSession.Policy(4, java.time.Duration.ofSeconds(60),
                    java.time.Duration.ofMinutes(5), java.time.Duration.ofMillis(300));
            long[] ring = new long[2];
            var g = cluster.generate(head, Mode.RING, RingModeTest.PROMPT, N, SamplingParams.greedyDecoding(), (i, s) -> { }, ring);
            assertArrayEquals(local.tokens(), g.tokens(), "tokens");
            for (int i = 0; i < N; i++) assertArrayEquals(local.logits().get(i), g.logits().get(i), "logits of token " + i);
            assertEquals(4, ring[0], "the ring ran until tokens got lost");
            assertEquals(2, ring[1], "two stalls, then push mode");
            cluster.assertNothingLeft();
        }
    }
}

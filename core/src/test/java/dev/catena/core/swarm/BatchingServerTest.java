package dev.catena.core.swarm;

import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.client.RemoteSession;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.core.server.SwarmServer;
import dev.catena.ffm.testmodel.ModelSpec;
import dev.catena.ffm.testmodel.TestModelCache;
import dev.catena.transport.spi.Transport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Servers with continuous batching: B clients generating at once get, token for token and logit
 * for logit, what each gets alone, while the servers run their decode steps in shared batches.
 */
class BatchingServerTest {
    static final Path STORIES = SwarmEquivalenceTest.MODEL;
    static final String[] PROMPTS = {"Once upon a time", "The little dog", "Lily wanted to", "One day, a big",
            "Tom and Sue went", "There was a", "The sun", "A girl named Mia had a red"};
    /** Each session ends after its own number of tokens, so sessions leave while others are mid-batch. */
    static final int[] TOKENS = {20, 12, 16, 9, 20, 14, 18, 11};

    static Path model(String name) {
        return name.equals("stories") ? STORIES : TestModelCache.get(ModelSpec.headDim128Q8());
    }

    /**
     * TinyStories' weights are F32, whose matmul over several rows rounds differently from one row
     * (about 1 ulp a step, BatchedStepTest; up to 1e-2 in logits after a dozen steps): its tokens are compared,
     * and its logits within 5e-2. The Q8_0
     * model's logits are compared to the bit.
     */
    @ParameterizedTest(name = "{0}, {1} servers, B = {2}")
    @CsvSource({"stories, 2, 2", "stories, 2, 4", "stories, 1, 8", "q8, 2, 2", "q8, 2, 4", "q8, 2, 8"})
    void concurrentSessionsGetTheirSoloTokens(String name, int servers, int b) throws Exception {
        Path model = model(name);
        SpanBackend backend = Catena.spanBackend("ffm");
        try (Transport serverSide = SwarmEquivalenceTest.transport("memory"); Transport clientSide = SwarmEquivalenceTest.transport("memory");
             var swarm = new TestSwarm(backend, model, servers, i -> serverSide, clientSide, "memory:0", 1L << 30,
                     i -> dev.catena.core.Identity.generate(), new SwarmServer.Batching(b, Duration.ofMillis(100)));
             var plain = new TestSwarm(backend, model, servers, i -> serverSide, clientSide, "memory:0", 1L << 30,
                     i -> dev.catena.core.Identity.generate(), SwarmServer.Batching.OFF);
             var head = backend.openHead(model, SpanOptions.cpu(1))) {
            List<GenerationLoop.Generation> solo = new ArrayList<>();
            for (int s = 0; s < b; s++) {
                solo.add(generate(plain, head, s)); // alone, on servers that do not batch
            }
            List<GenerationLoop.Generation> together = concurrently(b, s -> generate(swarm, head, s));
            for (int s = 0; s < b; s++) {
                String what = name + " session " + s + " of " + b;
                assertArrayEquals(solo.get(s).tokens(), together.get(s).tokens(), what + ": tokens");
                for (int t = 0; t < TOKENS[s]; t++) {
                    float[] expected = solo.get(s).logits().get(t);
                    float[] actual = together.get(s).logits().get(t);
                    if (name.equals("q8")) {
                        assertArrayEquals(expected, actual, what + ": logits of token " + t);
                    } else {
                        assertArrayEquals(expected, actual, 5e-2f, what + ": logits of token " + t);
                    }
                }
            }
            for (SwarmServer sv : swarm.servers) {
                var c = sv.counters();
                // Steps did share batches (how many depends on the machine's load: a stall past the wait splits one).
                assertTrue(c.batchedSteps.get() > c.batches.get(), "steps were batched: " + c.snapshot());
                assertEquals(0, sv.openSessions());
                assertEquals(0, sv.kvBytesReserved(), "every session's KV freed");
            }
        }
    }

    /** A session closed in the middle of its generation leaves the others' batches and results as they were. */
    @Test
    void aSessionClosedMidGenerationDoesNotDisturbTheOthers() throws Exception {
        Path model = model("q8");
        SpanBackend backend = Catena.spanBackend("ffm");
        int b = 4;
        try (Transport serverSide = SwarmEquivalenceTest.transport("memory"); Transport clientSide = SwarmEquivalenceTest.transport("memory");
             var swarm = new TestSwarm(backend, model, 2, i -> serverSide, clientSide, "memory:0", 1L << 30,
                     i -> dev.catena.core.Identity.generate(), new SwarmServer.Batching(b, Duration.ZERO));
             var head = backend.openHead(model, SpanOptions.cpu(1))) {
            List<GenerationLoop.Generation> solo = new ArrayList<>();
            for (int s = 1; s < b; s++) {
                solo.add(generate(swarm, head, s));
            }
            CountDownLatch started = new CountDownLatch(3);
            List<GenerationLoop.Generation> others = concurrently(b, s -> {
                if (s == 0) { // the victim: closed from its own thread after a few tokens, while the others run
                    RemoteSession session = swarm.open(RemoteSession.Mode.PUSH, 256);
                    var steps = new java.util.concurrent.atomic.AtomicInteger();
                    assertThrows(java.util.concurrent.CancellationException.class, () -> GenerationLoop.generate(head, (h, n, p) -> {
                        if (steps.incrementAndGet() == 4) {
                            awaitQuietly(started);
                            session.close(); // a client that goes away: its server sessions close, between others' batches
                            throw new java.util.concurrent.CancellationException("cancelled by the client");
                        }
                        return session.step(h, n, p);
                    }, PROMPTS[0], TOKENS[0], SamplingParams.greedyDecoding(), 256, false, true, t -> { }));
                    return null;
                }
                started.countDown();
                return generate(swarm, head, s);
            });
            for (int s = 1; s < b; s++) {
                assertArrayEquals(solo.get(s - 1).tokens(), others.get(s).tokens(), "session " + s);
            }
            for (SwarmServer sv : swarm.servers) {
                assertEquals(0, sv.kvBytesReserved(), "every session's KV freed");
            }
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static GenerationLoop.Generation generate(TestSwarm swarm, ModelHead head, int s) {
        try (RemoteSession session = swarm.open(RemoteSession.Mode.PUSH, 256)) {
            return GenerationLoop.generate(head, session::step, PROMPTS[s], TOKENS[s], SamplingParams.greedyDecoding(), 256,
                    false, true, t -> { });
        }
    }

    private static List<GenerationLoop.Generation> concurrently(int b, java.util.function.IntFunction<GenerationLoop.Generation> run)
            throws Exception {
        try (ExecutorService pool = Executors.newFixedThreadPool(b)) {
            List<CompletableFuture<GenerationLoop.Generation>> futures = new ArrayList<>();
            for (int s = 0; s < b; s++) {
                int i = s;
                futures.add(CompletableFuture.supplyAsync(() -> run.apply(i), pool));
            }
            List<GenerationLoop.Generation> out = new ArrayList<>();
            for (var f : futures) {
                out.add(f.get(120, java.util.concurrent.TimeUnit.SECONDS));
            }
            return out;
        }
    }
}

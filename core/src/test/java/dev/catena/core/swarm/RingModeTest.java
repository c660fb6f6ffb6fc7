package dev.catena.core.swarm;

import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.client.RemoteSession.Mode;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.core.local.LocalInference;
import dev.catena.transport.spi.Transport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Ring mode on TinyStories: the last server samples and hands the token straight to the first, the
 * client verifies after the fact; tokens and every logit equal the single-process run, greedy and
 * sampled with a seed, over 2, 3 and 4 servers, in memory and over real TCP.
 */
class RingModeTest {
    static final Path MODEL = SwarmEquivalenceTest.MODEL;
    static final String PROMPT = "Once upon a time";
    static final int N = 24;
    static final SamplingParams SAMPLED = new SamplingParams(false, 0.9f, 40, 0.95f, 0.05f, 1.1f, 64, 1234);
    static SpanBackend backend;

    @BeforeAll
    static void open() {
        backend = Catena.spanBackend("ffm");
    }

    static GenerationLoop.Generation local(SamplingParams sampling) {
        try (var li = LocalInference.open(backend, MODEL, List.of(), SpanOptions.cpu(1))) {
            return li.generate(PROMPT, N, sampling, SessionOptions.of(256), false, true, t -> { });
        }
    }

    @ParameterizedTest(name = "{0} servers, {1}, sampled {2}")
    @CsvSource({"1, memory, true", "2, memory, false", "3, memory, true", "4, memory, false", "2, netty, true", "3, netty, false", "4, netty, true"})
    void ringEqualsTheLocalRun(int k, String transportName, boolean sampled) {
        SamplingParams sampling = sampled ? SAMPLED : SamplingParams.greedyDecoding();
        var local = local(sampling);
        String bind = transportName.equals("memory") ? "memory:0" : "127.0.0.1:0";
        try (Transport serverSide = SwarmEquivalenceTest.transport(transportName); Transport clientSide = SwarmEquivalenceTest.transport(transportName);
             var cluster = new RingCluster(backend, MODEL, k, i -> serverSide, clientSide, bind, i -> dev.catena.core.Identity.generate());
             var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            long[] ring = new long[2];
            var g = cluster.generate(head, Mode.RING, PROMPT, N, sampling, (i, s) -> { }, ring);
            assertArrayEquals(local.tokens(), g.tokens(), "tokens");
            for (int i = 0; i < N; i++) assertArrayEquals(local.logits().get(i), g.logits().get(i), "logits of token " + i);
            // Every step after the prompt went around the ring and was verified after the fact; none was redone.
            assertEquals(N - 1, ring[0], "ring steps verified");
            assertEquals(0, ring[1], "ring steps rewound");
            assertEquals(N - 1, cluster.servers.getLast().counters().ringTokensSent.get(), "tokens the last server sent the first");
            cluster.assertNothingLeft();
        }
    }
}

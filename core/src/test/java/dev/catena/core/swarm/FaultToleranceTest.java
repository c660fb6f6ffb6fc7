package dev.catena.core.swarm;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.Generator;
import dev.catena.core.client.FaultTolerantSession;
import dev.catena.core.client.RemoteSession.Mode;
import dev.catena.core.client.SwarmClient;
import dev.catena.core.client.SwarmException;
import dev.catena.core.directory.InMemoryDirectory;
import dev.catena.core.directory.ServerRecord;
import dev.catena.core.local.CountingBackend;
import dev.catena.core.server.SwarmServer;
import dev.catena.transport.proto.DType;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Servers die mid-generation; the client bans them, re-routes through replicas, replays, and its tokens do not change. */
class FaultToleranceTest {
    static final Path MODEL = Path.of("counting.gguf");
    static final String ID = "counting.gguf";

    /** Servers with the given spans, announced in a directory, all on one in-memory transport. */
    static final class Cluster implements AutoCloseable {
        final Transport transport = Catena.transportProviders().stream().filter(p -> p.name().equals("memory")).findFirst()
                .orElseThrow().create(TransportConfig.defaults());
        final InMemoryDirectory directory = new InMemoryDirectory();
        final List<SwarmServer> servers = new ArrayList<>();
        final SpanBackend backend;
        final SwarmClient client = new SwarmClient(transport, Duration.ofSeconds(5));

        Cluster(SpanBackend backend, Path model, String id, BlockRange... spans) {
            this.backend = backend;
            for (BlockRange r : spans) {
                var s = SwarmServer.start(new SwarmServer.Config(model, id, r, SpanOptions.cpu(1), "memory:0", 1L << 30,
                        Duration.ofMinutes(1), 1), backend, transport);
                servers.add(s);
                directory.announce(ServerRecord.online(s.address(), id, r));
            }
        }

        SwarmServer byAddress(String address) {
            return servers.stream().filter(s -> s.address().equals(address)).findFirst().orElseThrow();
        }

        @Override
        public void close() {
            client.close();
            servers.forEach(SwarmServer::close);
            transport.close();
        }
    }

    static Generator.Generation run(Cluster c, ModelHead head, Path model, String id, Mode mode, int n, String prompt,
                                    Map<Integer, Integer> killAtTokenHop, List<FaultTolerantSession.Failover> failovers) {
        var info = c.backend.inspect(model);
        try (var session = new FaultTolerantSession(c.client, c.directory, id, info.nLayer(), info.nEmbd(), mode, 128, DType.F32,
                new FaultTolerantSession.Policy(4, Duration.ofSeconds(60), Duration.ofMinutes(5), Duration.ofSeconds(10)))) {
            int[] produced = {0};
            IntConsumer onToken = t -> {
                Integer hop = killAtTokenHop.get(++produced[0]);
                if (hop != null) {
                    c.byAddress(session.route().get(hop).address()).close(); // the server dies between two steps
                }
            };
            var g = Generator.generate(head, session, prompt, n, SamplingParams.greedyDecoding(), 128, false, true, onToken);
            failovers.addAll(session.failovers());
            return g;
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void killsDuringDecodeTwoFailuresAndAFailingReplacement(Mode mode) {
        var backend = new CountingBackend(4);
        var a = new BlockRange(0, 2);
        var b = new BlockRange(2, 4);
        int[] clean;
        try (var c = new Cluster(backend, MODEL, ID, a, b); var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            clean = run(c, head, MODEL, ID, mode, 20, "3", Map.of(), new ArrayList<>()).tokens();
        }
        // Three replicas of each span: kill the [2,4) server at token 5, the [0,2) one at 9, and the [2,4) replacement at 10.
        try (var c = new Cluster(backend, MODEL, ID, a, a, a, b, b, b); var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            var failovers = new ArrayList<FaultTolerantSession.Failover>();
            var g = run(c, head, MODEL, ID, mode, 20, "3", Map.of(5, 1, 9, 0, 10, 1), failovers);
            assertArrayEquals(clean, g.tokens(), mode + ": tokens with three failures");
            assertEquals(3, failovers.size(), failovers.toString());
            failovers.forEach(f -> assertTrue(f.millis() >= 0));
            System.out.printf("%s: failovers %s%n", mode, failovers.stream().map(f -> String.format("%.1f ms", f.millis())).toList());
            // A failed server's session is closed without waiting for its answer: allow it a moment.
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (c.servers.stream().anyMatch(s -> s.kvBytesReserved() > 0) && System.nanoTime() < deadline) Thread.onSpinWait();
            for (var s : c.servers) {
                assertEquals(0, s.openSessions(), "no session left on " + s.address());
                assertEquals(0, s.kvBytesReserved(), "no KV left on " + s.address());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void aDeadServerInTheDirectoryIsSkippedAtTheStart(Mode mode) {
        var backend = new CountingBackend(4);
        try (var c = new Cluster(backend, MODEL, ID, new BlockRange(0, 2), new BlockRange(0, 2), new BlockRange(2, 4));
             var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            c.servers.get(0).close(); // still announced: dies before the prefill
            c.servers.get(1).close();
            c.directory.announce(ServerRecord.online("memory:never-was", ID, new BlockRange(0, 2)));
            var e = assertThrows(SwarmException.class,
                    () -> run(c, head, MODEL, ID, mode, 5, "3", Map.of(), new ArrayList<>()));
            // Every server of [0, 2) is announced but gone: tried (the bans give way), then a clean error.
            assertTrue(e.getMessage().contains("giving up after") && e.getMessage().contains("cannot reach"), e.getMessage());
        }
        try (var c = new Cluster(backend, MODEL, ID, new BlockRange(0, 2), new BlockRange(0, 2), new BlockRange(2, 4));
             var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            c.servers.get(0).close();
            var failovers = new ArrayList<FaultTolerantSession.Failover>();
            var g = run(c, head, MODEL, ID, mode, 8, "3", Map.of(), failovers);
            assertArrayEquals(new int[]{7, 11, 15, 19, 23, 27, 31, 35}, g.tokens());
        }
    }

    /** The real model: a server killed mid-decode, in push mode; tokens and logits equal the run without faults. */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void tinyStoriesSurvivesAKill(Mode mode) {
        Path model = SwarmEquivalenceTest.MODEL;
        var backend = Catena.spanBackend("ffm");
        try (var c = new Cluster(backend, model, "stories", new BlockRange(0, 3), new BlockRange(3, 5), new BlockRange(3, 5));
             var head = backend.openHead(model, SpanOptions.cpu(1))) {
            var failovers = new ArrayList<FaultTolerantSession.Failover>();
            var g = run(c, head, model, "stories", mode, 24, "Once upon a time", Map.of(7, 1), failovers);
            try (var local = dev.catena.core.local.LocalInference.open(backend, model, List.of(), SpanOptions.cpu(1))) {
                var expected = local.generate("Once upon a time", 24, SamplingParams.greedyDecoding(),
                        dev.catena.api.spi.SessionOptions.of(128), false, true, t -> { });
                assertArrayEquals(expected.tokens(), g.tokens());
                for (int i = 0; i < 24; i++) assertArrayEquals(expected.logits().get(i), g.logits().get(i), "logits " + i);
            }
            assertEquals(1, failovers.size());
        }
    }
}

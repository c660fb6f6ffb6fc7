package dev.catena.core.swarm;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.core.client.FaultTolerantSession;
import dev.catena.core.client.Hop;
import dev.catena.core.client.RemoteSession.Mode;
import dev.catena.core.client.SessionSpec;
import dev.catena.core.client.SwarmClient;
import dev.catena.core.SwarmException;
import dev.catena.core.directory.InMemoryDirectory;
import dev.catena.api.directory.ServerRecord;
import dev.catena.testing.CountingBackend;
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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Servers die, hang or slow down mid-generation (between steps, during the prefill, during a
 * replacement's replay); the client bans them, replaces only the failed hop (by one server or
 * several, whole spans or parts), replays, and its tokens do not change. No KV is left anywhere.
 */
class FaultToleranceTest {
    static final Path MODEL = Path.of("counting.gguf");
    static final String ID = "counting.gguf";
    static final FaultTolerantSession.Policy POLICY =
            new FaultTolerantSession.Policy(4, Duration.ofSeconds(60), Duration.ofMinutes(5), Duration.ofSeconds(10));

    /** Servers with the given spans, announced in a directory, all on one in-memory transport. */
    static final class Cluster implements AutoCloseable {
        final Transport transport = Catena.transportProviders().stream().filter(p -> p.name().equals("memory")).findFirst()
                .orElseThrow().create(TransportConfig.defaults());
        final InMemoryDirectory directory = new InMemoryDirectory();
        final List<SwarmServer> servers = new ArrayList<>();
        final SpanBackend backend;
        final String modelId;
        final SwarmClient client = new SwarmClient(transport, Duration.ofSeconds(5));

        Cluster(SpanBackend backend, Path model, String id, BlockRange... spans) {
            this.backend = backend;
            this.modelId = id;
            for (BlockRange r : spans) {
                announce(start(backend, model, id, r));
            }
        }

        /** Starts a server without announcing it (it joins later, or never). */
        SwarmServer start(SpanBackend spanBackend, Path model, String id, BlockRange r) {
            var s = SwarmServer.start(new SwarmServer.Config(model, id, r, SpanOptions.cpu(1), "memory:0", 1L << 30,
                    Duration.ofMinutes(1), 1), spanBackend, transport);
            servers.add(s);
            return s;
        }

        SwarmServer announce(SwarmServer s) {
            directory.announce(ServerRecord.online(s.address(), modelId, s.blocks()));
            return s;
        }

        SwarmServer byAddress(String address) {
            return servers.stream().filter(s -> s.address().equals(address)).findFirst().orElseThrow();
        }

        /** Every session closed and every KV byte freed, on every server (a failed server's close is not waited for). */
        void assertNothingLeft() {
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (servers.stream().anyMatch(s -> s.kvBytesReserved() > 0 || s.openSessions() > 0) && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            for (var s : servers) {
                assertEquals(0, s.openSessions(), "no session left on " + s.address());
                assertEquals(0, s.kvBytesReserved(), "no KV left on " + s.address());
            }
        }

        @Override
        public void close() {
            client.close();
            servers.forEach(SwarmServer::close);
            transport.close();
        }
    }

    /** Generates {@code n} tokens; {@code afterToken} runs after each token with its number (from 1) and the session. */
    static GenerationLoop.Generation run(Cluster c, ModelHead head, Path model, String id, Mode mode, int n, String prompt,
                                    FaultTolerantSession.Policy policy, BiConsumer<Integer, FaultTolerantSession> afterToken,
                                    List<FaultTolerantSession.Failover> failovers) {
        var info = c.backend.inspect(model);
        try (var session = new FaultTolerantSession(c.client, c.directory,
                new SessionSpec(id, info.nLayer(), info.nEmbd(), 128, DType.F32), mode, policy)) {
            int[] produced = {0};
            var g = GenerationLoop.generate(head, session, prompt, n, SamplingParams.greedyDecoding(), 128, false, true,
                    t -> afterToken.accept(++produced[0], session));
            failovers.addAll(session.failovers());
            return g;
        }
    }

    /** Kills the server of hop {@code hop} after token {@code token}, for each entry: it dies between two steps. */
    static BiConsumer<Integer, FaultTolerantSession> kills(Cluster c, Map<Integer, Integer> hopAtToken) {
        return (token, session) -> {
            Integer hop = hopAtToken.get(token);
            if (hop != null) c.byAddress(session.route().get(hop).address()).close();
        };
    }

    static int[] counting(int first, int step, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = first + step * (i + 1);
        return out;
    }

    /**
     * Ring mode: the servers run up to the window ahead of the client, so a kill at a token may surface a
     * step later, together with the next kill (a step's failovers name their replacements on the last one
     * only), or not at all (the ring had finished the generation). The tokens, checked by the caller, are
     * what must not change; here: no more failovers than kills, each one replaced.
     */
    static void ringRunsAhead(List<FaultTolerantSession.Failover> failovers, int kills) {
        assertTrue(!failovers.isEmpty() && failovers.size() <= kills, failovers.toString());
        failovers.forEach(f -> assertTrue(f.millis() >= 0 && f.replacements().size() <= 2, f.toString()));
        assertFalse(failovers.getLast().replacements().isEmpty(), failovers.toString());
    }

    static void report(Mode mode, List<FaultTolerantSession.Failover> failovers) {
        System.out.printf("%s: %d failovers %s%n", mode, failovers.size(), failovers.stream()
                .map(f -> String.format("%.1f ms -> %s", f.millis(), f.replacements())).toList());
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void killsDuringDecodeTwoFailuresAndAFailingReplacement(Mode mode) {
        var backend = new CountingBackend(4);
        var a = new BlockRange(0, 2);
        var b = new BlockRange(2, 4);
        // Three replicas of each span: kill the [2,4) server at token 5, the [0,2) one at 9, and the [2,4) replacement at 10.
        try (var c = new Cluster(backend, MODEL, ID, a, a, a, b, b, b); var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            var failovers = new ArrayList<FaultTolerantSession.Failover>();
            var g = run(c, head, MODEL, ID, mode, 20, "3", POLICY, kills(c, Map.of(5, 1, 9, 0, 10, 1)), failovers);
            assertArrayEquals(counting(3, 4, 20), g.tokens(), mode + ": tokens with three failures");
            if (mode == Mode.RING) {
                ringRunsAhead(failovers, 3);
            } else {
                assertEquals(3, failovers.size(), failovers.toString());
                failovers.forEach(f -> assertTrue(f.millis() >= 0 && f.replacements().size() == 1, f.toString()));
            }
            report(mode, failovers);
            c.assertNothingLeft();
        }
    }

    /** The healthy servers keep their one session: only the failed hop is replaced and replayed. */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void onlyTheFailedHopIsReplaced(Mode mode) {
        var backend = new CountingBackend(6);
        var r0 = new BlockRange(0, 2);
        var r1 = new BlockRange(2, 4);
        var r2 = new BlockRange(4, 6);
        try (var c = new Cluster(backend, MODEL, ID, r0, r1, r2); var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            var replica = c.start(backend, MODEL, ID, r1);
            var failovers = new ArrayList<FaultTolerantSession.Failover>();
            var g = run(c, head, MODEL, ID, mode, 12, "3", POLICY, (token, session) -> {
                if (token == 6) {
                    c.announce(replica); // joins late, then the middle server dies
                    c.byAddress(session.route().get(1).address()).close();
                }
            }, failovers);
            assertArrayEquals(counting(3, 6, 12), g.tokens());
            assertEquals(1, failovers.size(), failovers.toString());
            assertEquals(List.of(new Hop(replica.address(), r1)), failovers.getFirst().replacements());
            SwarmServer first = c.servers.get(0);
            SwarmServer last = c.servers.get(2);
            assertEquals(1, first.counters().sessionsOpened.get(), "the first server kept its session");
            assertEquals(1, last.counters().sessionsOpened.get(), "the last server kept its session");
            // The last server computed each position once: 12 steps (prefill + 11 decodes), no replay.
            if (mode == Mode.RING) { // it ran ahead of the failure (within the window), then recomputed from the client's copy
                long steps = last.counters().steps.get();
                assertTrue(steps >= 12 && steps <= 12 + dev.catena.core.client.RingSpec.DEFAULT_WINDOW, "the last server was not replayed: " + steps);
            } else {
                assertEquals(12, last.counters().steps.get(), "the last server was not replayed");
            }
            // The replica replayed the prefill and 5 decode steps, then computed the rest (in ring mode, possibly
            // ahead of the client and again from its copy, within the window).
            long replicaSteps = replica.counters().steps.get();
            assertTrue(mode == Mode.RING ? replicaSteps >= 12 && replicaSteps <= 12 + dev.catena.core.client.RingSpec.DEFAULT_WINDOW
                    : replicaSteps == 12, "replica steps: " + replicaSteps);
            report(mode, failovers);
            c.assertNothingLeft();
        }
    }

    /**
     * Replacements split differently from the failed span: [2,4) dies and is covered by [2,3) and
     * [3,4); then [0,2) dies and is covered by part of a [0,3) server; then [2,3) dies and is covered
     * by another part of that same server.
     */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void failedSpansAreCoveredBySeveralServersAndPartsOfSpans(Mode mode) {
        var backend = new CountingBackend(4);
        try (var c = new Cluster(backend, MODEL, ID, new BlockRange(0, 2), new BlockRange(2, 4));
             var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            var low = c.start(backend, MODEL, ID, new BlockRange(2, 3));
            var high = c.start(backend, MODEL, ID, new BlockRange(3, 4));
            var wide = c.start(backend, MODEL, ID, new BlockRange(0, 3));
            var failovers = new ArrayList<FaultTolerantSession.Failover>();
            var g = run(c, head, MODEL, ID, mode, 16, "3", POLICY, (token, session) -> {
                switch (token) {
                    case 4 -> {
                        c.announce(low);
                        c.announce(high);
                        c.byAddress(session.route().get(1).address()).close();
                    }
                    case 8 -> {
                        c.announce(wide);
                        c.byAddress(session.route().get(0).address()).close();
                    }
                    case 12 -> low.close();
                    default -> { }
                }
            }, failovers);
            assertArrayEquals(counting(3, 4, 16), g.tokens());
            if (mode == Mode.RING) {
                ringRunsAhead(failovers, 3);
            } else {
                assertEquals(3, failovers.size(), failovers.toString());
                assertEquals(List.of(new Hop(low.address(), new BlockRange(2, 3)), new Hop(high.address(), new BlockRange(3, 4))),
                        failovers.get(0).replacements());
                assertEquals(List.of(new Hop(wide.address(), new BlockRange(0, 2))), failovers.get(1).replacements());
                assertEquals(List.of(new Hop(wide.address(), new BlockRange(2, 3))), failovers.get(2).replacements());
            }
            report(mode, failovers);
            c.assertNothingLeft();
        }
    }

    /** A server dies while it computes the prompt: the prefill is re-run on its replica. */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void aKillDuringThePrefillFailsOver(Mode mode) {
        var backend = new CountingBackend(4);
        try (var c = new Cluster(backend, MODEL, ID, new BlockRange(0, 2), new BlockRange(2, 4), new BlockRange(2, 4));
             var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            var killed = new AtomicBoolean();
            backend.hook = (blocks, n, position) -> {
                if (blocks.start() == 2 && n > 1 && killed.compareAndSet(false, true)) {
                    dieMidStep(c.servers.stream().filter(s -> s.blocks().start() == 2 && s.openSessions() > 0).findFirst().orElseThrow());
                }
            };
            var failovers = new ArrayList<FaultTolerantSession.Failover>();
            var g = run(c, head, MODEL, ID, mode, 8, "3123", POLICY, (t, s) -> { }, failovers);
            assertTrue(killed.get());
            assertArrayEquals(counting(3, 4, 8), g.tokens());
            assertEquals(1, failovers.size(), failovers.toString());
            assertTrue(failovers.getFirst().reason().matches(".*connection to .* (lost|is closed).*"), failovers.toString());
            report(mode, failovers);
            c.assertNothingLeft();
        }
    }

    /** The first replacement dies while the history is replayed to it: it is banned and replaced in its turn. */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void aReplacementDyingDuringItsReplayIsReplacedToo(Mode mode) {
        var backend = new CountingBackend(4);
        var b = new BlockRange(2, 4);
        try (var c = new Cluster(backend, MODEL, ID, new BlockRange(0, 2), b, b, b);
             var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            var replaying = new AtomicBoolean();
            var killed = new AtomicBoolean();
            backend.hook = (blocks, n, position) -> {
                // The first [2,4) forward at position 0 after the kill is a replacement replaying the prefill.
                if (replaying.get() && blocks.start() == 2 && position == 0 && killed.compareAndSet(false, true)) {
                    dieMidStep(c.servers.stream().filter(s -> s.blocks().start() == 2 && !s.isClosed() && s.openSessions() > 0)
                            .findFirst().orElseThrow());
                }
            };
            var failovers = new ArrayList<FaultTolerantSession.Failover>();
            var g = run(c, head, MODEL, ID, mode, 10, "3", POLICY, (token, session) -> {
                if (token == 5) {
                    replaying.set(true);
                    c.byAddress(session.route().get(1).address()).close();
                }
            }, failovers);
            assertArrayEquals(counting(3, 4, 10), g.tokens());
            // In ring mode the servers may have run the generation to its end (within the window) before the kill
            // at token 5 mattered: then nothing was replayed, and there was nothing to die during.
            if (mode != Mode.RING || killed.get()) {
                assertTrue(killed.get());
                assertEquals(1, failovers.size(), "one failed hop, replaced on the second try: " + failovers);
                assertEquals(2, c.servers.stream().filter(SwarmServer::isClosed).count());
            }
            report(mode, failovers);
            c.assertNothingLeft();
        }
    }

    /** A server slower than the step timeout is failed over; a slow one within it only slows the generation. */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void aSlowServerPastTheTimeoutIsFailedOver(Mode mode) {
        var backend = new CountingBackend(4);
        var slowBackend = new CountingBackend(4);
        var policy = new FaultTolerantSession.Policy(4, Duration.ofSeconds(60), Duration.ofMinutes(5), Duration.ofMillis(500));
        try (var c = new Cluster(backend, MODEL, ID, new BlockRange(0, 2)); var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            var slow = c.announce(c.start(slowBackend, MODEL, ID, new BlockRange(2, 4)));
            var delayMillis = new java.util.concurrent.atomic.AtomicLong(50); // slow, within the timeout
            slowBackend.hook = (blocks, n, position) -> {
                try {
                    Thread.sleep(delayMillis.get());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            var failovers = new ArrayList<FaultTolerantSession.Failover>();
            var g = run(c, head, MODEL, ID, mode, 10, "3", policy, (token, session) -> {
                if (token == 4) {
                    c.announce(c.start(backend, MODEL, ID, new BlockRange(2, 4)));
                    delayMillis.set(2_000); // now far past the 500 ms step timeout
                }
            }, failovers);
            assertArrayEquals(counting(3, 4, 10), g.tokens());
            assertEquals(1, failovers.size(), failovers.toString());
            assertEquals(slow.address(), failovers.getFirst().server());
            assertTrue(failovers.getFirst().reason().contains("no valid result"), failovers.toString());
            report(mode, failovers);
            c.assertNothingLeft();
        }
    }

    /** Closes {@code server} from another thread while the calling compute thread is in a step, and waits until it is closed. */
    static void dieMidStep(SwarmServer server) {
        Thread.ofPlatform().start(server::close);
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!server.isClosed() && System.nanoTime() < deadline) Thread.onSpinWait();
        try {
            Thread.sleep(100); // let it close its connections before this step answers
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void noServerForABlockFailsNamingIt(Mode mode) {
        var backend = new CountingBackend(6);
        try (var c = new Cluster(backend, MODEL, ID, new BlockRange(0, 2), new BlockRange(4, 6));
             var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            var e = assertThrows(SwarmException.class, () -> run(c, head, MODEL, ID, mode, 3, "3", POLICY, (t, s) -> { }, new ArrayList<>()));
            assertTrue(e.getMessage().contains("no usable server covers blocks [2, 4)"), e.getMessage());
            c.assertNothingLeft();
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
                    () -> run(c, head, MODEL, ID, mode, 5, "3", POLICY, (t, s) -> { }, new ArrayList<>()));
            // Every server of [0, 2) is announced but gone: tried (the bans give way), then a clean error.
            assertTrue(e.getMessage().contains("giving up after") && e.getMessage().contains("cannot reach"), e.getMessage());
        }
        try (var c = new Cluster(backend, MODEL, ID, new BlockRange(0, 2), new BlockRange(0, 2), new BlockRange(2, 4));
             var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            c.servers.get(0).close();
            var failovers = new ArrayList<FaultTolerantSession.Failover>();
            var g = run(c, head, MODEL, ID, mode, 8, "3", POLICY, (t, s) -> { }, failovers);
            assertArrayEquals(counting(3, 4, 8), g.tokens());
            assertEquals(0, failovers.size(), "a server found dead when measuring round trips is not a failover: " + failovers);
        }
    }

    /** The real model: a server killed mid-decode; tokens and logits equal the run without faults. */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void tinyStoriesSurvivesAKill(Mode mode) {
        Path model = SwarmEquivalenceTest.MODEL;
        var backend = Catena.spanBackend("ffm");
        try (var c = new Cluster(backend, model, "stories", new BlockRange(0, 3), new BlockRange(3, 5), new BlockRange(2, 5));
             var head = backend.openHead(model, SpanOptions.cpu(1))) {
            var failovers = new ArrayList<FaultTolerantSession.Failover>();
            var g = run(c, head, model, "stories", mode, 24, "Once upon a time", POLICY, kills(c, Map.of(7, 1)), failovers);
            try (var local = dev.catena.core.local.LocalInference.open(backend, model, List.of(), SpanOptions.cpu(1))) {
                var expected = local.generate("Once upon a time", 24, SamplingParams.greedyDecoding(),
                        dev.catena.api.spi.SessionOptions.of(128), false, true, t -> { });
                assertArrayEquals(expected.tokens(), g.tokens());
                for (int i = 0; i < 24; i++) assertArrayEquals(expected.logits().get(i), g.logits().get(i), "logits " + i);
            }
            assertEquals(1, failovers.size());
            report(mode, failovers);
            c.assertNothingLeft();
        }
    }
}

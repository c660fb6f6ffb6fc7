package dev.catena.core.swarm;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.client.FaultTolerantSession;
import dev.catena.core.client.RemoteSession.Mode;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.core.local.LocalInference;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Issue 17's ring failover: the replacement of the ring's first server replays its history, one client step
 * each (a ring numbers them 2^32 apart), and its results' signatures trail them. Here each signature reaches
 * the client {@link #SIGNATURE_DELAY_MS} late, after the next replay steps (each well under a millisecond), as a
 * busy signing thread made them in SwarmCommandIT. Every result's signature is checked. A signature dropped
 * for being "8 steps" old made its check wait the whole step timeout and fail the replacement.
 */
class RingFailoverSignaturesTest {
    static final long SEED = Long.getLong("catena.test.seed", 17L);
    static final long SIGNATURE_DELAY_MS = 50;
    static final int N = 24; // past the kill at token 6 plus the window (8): the ring cannot finish before the kill matters

    @Test
    @Timeout(60)
    void aReplaysLateSignaturesCompleteItsChecks() {
        SpanBackend backend = Catena.spanBackend("ffm");
        var greedy = SamplingParams.greedyDecoding();
        int[] expected;
        try (var li = LocalInference.open(backend, RingModeTest.MODEL, List.of(), SpanOptions.cpu(1))) {
            expected = li.generate(RingModeTest.PROMPT, N, greedy, SessionOptions.of(256), false, false, t -> { }).tokens();
        }
        try (Transport serverSide = SwarmEquivalenceTest.transport("memory");
             var late = new LateSignatures(SwarmEquivalenceTest.transport("memory"));
             var cluster = new RingCluster(backend, RingModeTest.MODEL, 2, i -> serverSide, late, "memory:0", i -> dev.catena.core.Identity.generate());
             var head = backend.openHead(RingModeTest.MODEL, SpanOptions.cpu(1))) {
            BlockRange first = cluster.servers.getFirst().blocks();
            cluster.add(first, serverSide, "memory:0", dev.catena.core.Identity.generate()); // the first server's replica
            cluster.client.resultSignatureChecks(1.0, SEED);
            cluster.policy = new FaultTolerantSession.Policy(4, Duration.ofSeconds(60), Duration.ofMinutes(5), Duration.ofSeconds(20));
            List<FaultTolerantSession.Failover> failovers = new ArrayList<>();
            GenerationLoop.Generation g;
            try (var session = cluster.session(Mode.RING)) {
                int[] produced = {0};
                g = GenerationLoop.generate(head, session, RingModeTest.PROMPT, N, greedy, 256, false, true, t -> {
                    if (++produced[0] == 6) cluster.servers.stream().filter(s -> s.address().equals(session.route().getFirst().address()))
                            .findFirst().orElseThrow().close(); // the ring's first server dies
                });
                failovers.addAll(session.failovers());
            }
            assertArrayEquals(expected, g.tokens(), "seed " + SEED);
            assertEquals(1, failovers.size(), "seed " + SEED + ": the kill only, its replacement's replay checked in time: " + failovers);
            assertEquals(1, failovers.getFirst().replacements().size(), failovers.toString());
        }
    }

    /** The client's transport: every result's trailing signature is handed to the client {@link #SIGNATURE_DELAY_MS} late. */
    static final class LateSignatures implements Transport {
        private final Transport inner;
        private final ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor();

        LateSignatures(Transport inner) {
            this.inner = inner;
        }

        @Override
        public Listener listen(String bindAddress, FrameHandler handler) {
            return inner.listen(bindAddress, handler);
        }

        @Override
        public Connection connect(String address, FrameHandler handler, Duration timeout) {
            return inner.connect(address, new FrameHandler() {
                @Override
                public void onFrame(Connection connection, Frame frame) {
                    if (frame.header().hasResultSignature()) { // a header only: valid after this callback
                        later.schedule(() -> handler.onFrame(connection, frame), SIGNATURE_DELAY_MS, TimeUnit.MILLISECONDS);
                    } else {
                        handler.onFrame(connection, frame);
                    }
                }

                @Override
                public long maxInboundFrameBytes(Connection connection) {
                    return handler.maxInboundFrameBytes(connection);
                }

                @Override
                public void onOpen(Connection connection) {
                    handler.onOpen(connection);
                }

                @Override
                public void onClose(Connection connection, Throwable cause) {
                    handler.onClose(connection, cause);
                }
            }, timeout);
        }

        @Override
        public void close() {
            later.shutdownNow();
            inner.close();
        }
    }
}

package dev.catena.core.swarm;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.SwarmException;
import dev.catena.core.client.FaultTolerantSession;
import dev.catena.core.client.RemoteSession.Mode;
import dev.catena.core.client.SessionSpec;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.testing.CountingBackend;
import dev.catena.transport.proto.DType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.catena.core.swarm.FaultToleranceTest.ID;
import static dev.catena.core.swarm.FaultToleranceTest.MODEL;
import static dev.catena.core.swarm.FaultToleranceTest.POLICY;
import static dev.catena.core.swarm.FaultToleranceTest.counting;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client whose watched view of the directory lags (the server that replaces a failed one is in the
 * directory, not yet in the view) reads the directory anew before it gives up for want of a server.
 */
class LaggingDirectoryTest {

    /** A view frozen at its last {@link #reread}, as a watch whose events have not arrived. */
    static final class LaggingDirectory implements Directory {
        final Directory store;
        final AtomicInteger rereads = new AtomicInteger();
        volatile List<ServerRecord> view;

        LaggingDirectory(Directory store) {
            this.store = store;
            this.view = store.servers(ID);
        }

        @Override
        public void announce(ServerRecord record) {
            store.announce(record);
        }

        @Override
        public void withdraw(String address) {
            store.withdraw(address);
        }

        @Override
        public List<ServerRecord> servers(String modelId) {
            return view;
        }

        @Override
        public List<ServerRecord> reread(String modelId) {
            rereads.incrementAndGet();
            view = store.servers(modelId);
            return view;
        }

        @Override
        public void close() {
        }
    }

    /**
     * Generates 12 tokens; after the 4th the [2, 4) hop's server dies, its record is withdrawn from the
     * directory (its lease expired) but not from the view, and {@code afterKill} runs.
     */
    static int[] generate(FaultToleranceTest.Cluster c, LaggingDirectory directory, Runnable afterKill) {
        var backend = c.backend;
        var info = backend.inspect(MODEL);
        try (var head = backend.openHead(MODEL, SpanOptions.cpu(1));
             var session = new FaultTolerantSession(c.client, directory, new SessionSpec(ID, info.nLayer(), info.nEmbd(), 128, DType.F32),
                     Mode.PUSH, POLICY)) {
            int[] produced = {0};
            return GenerationLoop.generate(head, session, "3", 12, SamplingParams.greedyDecoding(), 128, false, true, t -> {
                if (++produced[0] == 4) {
                    String dead = session.route().get(1).address();
                    c.byAddress(dead).close();
                    directory.store.withdraw(dead);
                    afterKill.run();
                }
            }).tokens();
        }
    }

    @Test
    void aReplacementTheViewHasNotSeenIsFoundByReadingTheDirectoryAgain() {
        var backend = new CountingBackend(4);
        try (var c = new FaultToleranceTest.Cluster(backend, MODEL, ID, new BlockRange(0, 2), new BlockRange(2, 4))) {
            var lagging = new LaggingDirectory(c.directory);
            var replacement = c.start(backend, MODEL, ID, new BlockRange(2, 4));
            int[] tokens = generate(c, lagging, () -> c.announce(replacement)); // in the directory, not in the view
            assertArrayEquals(counting(3, 4, 12), tokens, "the generation goes on over the replacement");
            assertTrue(lagging.rereads.get() >= 1, "the client read the directory again");
            assertTrue(lagging.view.stream().anyMatch(r -> r.address().equals(replacement.address())), lagging.view.toString());
            c.assertNothingLeft();
        }
    }

    @Test
    void withNoServerInTheDirectoryEitherItFailsNamingTheBlocks() {
        var backend = new CountingBackend(4);
        try (var c = new FaultToleranceTest.Cluster(backend, MODEL, ID, new BlockRange(0, 2), new BlockRange(2, 4))) {
            var lagging = new LaggingDirectory(c.directory);
            var e = assertThrows(SwarmException.class, () -> generate(c, lagging, () -> { }));
            assertTrue(e.getMessage().contains("no usable server covers blocks [2, 4)"), e.getMessage());
            assertTrue(lagging.rereads.get() >= 1, "the client read the directory again before it failed");
        }
    }
}

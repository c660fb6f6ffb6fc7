package dev.catena.core.swarm;

import com.google.protobuf.ByteString;
import dev.catena.core.SwarmException;
import dev.catena.core.client.RemoteSession.Mode;
import dev.catena.testing.CountingBackend;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;
import org.junit.jupiter.api.Test;

import java.security.PublicKey;
import java.time.Duration;
import java.util.function.LongPredicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A result whose signature does not verify under its server's proven key fails that hop (Corrupt). */
class SignedResultsTest {

    /** The client's transport, altering the (trailing) signatures of results of the steps chosen as they arrive. */
    static final class ForgingTransport implements Transport {
        final Transport inner;
        final LongPredicate forge;

        ForgingTransport(Transport inner, LongPredicate forge) {
            this.inner = inner;
            this.forge = forge;
        }

        @Override public Listener listen(String bindAddress, FrameHandler handler) { return inner.listen(bindAddress, handler); }
        @Override public void close() { inner.close(); }
        @Override public Connection connect(String address, FrameHandler handler, Duration timeout) { return connect(address, handler, timeout, null); }

        @Override
        public Connection connect(String address, FrameHandler handler, Duration timeout, PublicKey expected) {
            return inner.connect(address, new FrameHandler() {
                @Override
                public void onFrame(Connection c, Frame f) {
                    if (f.header().hasResultSignature() && forge.test(f.header().getResultSignature().getStep())) {
                        byte[] sig = f.header().getResultSignature().getSignature().toByteArray();
                        sig[5] ^= 1;
                        var r = f.header().getResultSignature().toBuilder().setSignature(ByteString.copyFrom(sig));
                        f = new Frame(f.header().toBuilder().setResultSignature(r).build(), f.payload());
                    }
                    handler.onFrame(c, f);
                }

                @Override public long maxInboundFrameBytes(Connection c) { return handler.maxInboundFrameBytes(c); }
                @Override public void onOpen(Connection c) { handler.onOpen(c); }
                @Override public void onClose(Connection c, Throwable cause) { handler.onClose(c, cause); }
            }, timeout, expected);
        }
    }

    @Test
    void aResultWithABadSignatureFailsItsHop() {
        var backend = new CountingBackend(4);
        try (Transport t = SwarmProtocolTest.memory(); Transport client = new ForgingTransport(SwarmProtocolTest.memory(), step -> step == 2);
             var swarm = new TestSwarm(backend, SwarmProtocolTest.MODEL, 2, i -> t, client, "memory:0", 1L << 30)) {
            swarm.client.resultSignatureChecks(1); // every one: the forged one is step 2's
            var session = swarm.open(Mode.RELAY, 16);
            float[] h = new float[CountingBackend.N_EMBD];
            session.step(h, 1, 0);
            session.step(h, 1, 1); // step 2: its results' signatures trail them, and are checked a step later
            session.step(h, 1, 2);
            var e = assertThrows(SwarmException.Corrupt.class, () -> session.step(h, 1, 3));
            assertEquals(swarm.servers.getFirst().address(), e.server(), e.getMessage());
            assertTrue(e.getMessage().contains("step 2") && e.getMessage().contains("is not signed by its key"), e.getMessage());
            assertTrue(swarm.client.counters().badSignatures.get() >= 1);
            session.close();
        }
    }

    /** At the default share, a server that forges every signature is caught within a few steps, and most are not verified. */
    @Test
    void aSampleOfSignaturesCatchesAServerThatForgesThem() {
        long seed = new java.util.Random().nextLong();
        var backend = new CountingBackend(4);
        try (Transport t = SwarmProtocolTest.memory(); Transport client = new ForgingTransport(SwarmProtocolTest.memory(), step -> true);
             var swarm = new TestSwarm(backend, SwarmProtocolTest.MODEL, 2, i -> t, client, "memory:0", 1L << 30)) {
            swarm.client.resultSignatureChecks(dev.catena.core.client.SwarmClient.DEFAULT_RESULT_SIGNATURE_CHECKS, seed);
            var session = swarm.open(Mode.RELAY, 256);
            float[] h = new float[CountingBackend.N_EMBD];
            int steps = 0;
            SwarmException caught = null;
            while (caught == null && steps < 200) {
                try {
                    session.step(h, 1, steps++);
                } catch (SwarmException.Corrupt e) {
                    caught = e;
                }
            }
            assertTrue(caught != null && caught.getMessage().contains("is not signed by its key"), "seed " + seed + ": " + caught);
            assertTrue(swarm.client.counters().signaturesNotSampled.get() > 0, "seed " + seed + ": some were not verified");
            System.out.printf("forged signatures caught at step %d of the sample (seed %d)%n", steps, seed);
            session.close();
        }
    }
}

package dev.catena.core.swarm;

import com.google.protobuf.ByteString;
import dev.catena.core.Identity;
import dev.catena.core.client.RemoteSession.Mode;
import dev.catena.testing.CountingBackend;
import dev.catena.transport.proto.Push;
import dev.catena.transport.proto.StepResult;
import dev.catena.transport.sign.Statements;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One signature per step: an honest server's push and its result for a step carry the same signature,
 * over the step statement that each of them states on its own (README, "One signature per step").
 */
class StepSignaturesTest {

    /** A transport passing every frame through, showing each one received to {@code seen}. */
    record Recording(Transport inner, Consumer<Frame> seen) implements Transport {
        FrameHandler recording(FrameHandler h) {
            return new FrameHandler() {
                @Override public void onFrame(Connection c, Frame f) { seen.accept(f); h.onFrame(c, f); }
                @Override public long maxInboundFrameBytes(Connection c) { return h.maxInboundFrameBytes(c); }
                @Override public void onOpen(Connection c) { h.onOpen(c); }
                @Override public void onClose(Connection c, Throwable cause) { h.onClose(c, cause); }
            };
        }

        @Override public Listener listen(String bindAddress, FrameHandler handler) { return inner.listen(bindAddress, recording(handler)); }
        @Override public Connection connect(String address, FrameHandler handler, Duration timeout) { return connect(address, handler, timeout, null); }
        @Override public Connection connect(String address, FrameHandler h, Duration timeout, java.security.PublicKey key) {
            return inner.connect(address, recording(h), timeout, key);
        }
        @Override public void close() { inner.close(); }
    }

    static String key(ByteString session, long step) {
        return java.util.HexFormat.of().formatHex(session.toByteArray()) + "/" + step;
    }

    @Test
    void aStepsPushAndResultCarryOneSignatureOverTheStatementEachStates() {
        var backend = new CountingBackend(6);
        Identity first = Identity.generate();
        Map<Long, Push> pushes = new ConcurrentHashMap<>();
        Map<Long, ByteString> pushSignatures = new ConcurrentHashMap<>();
        Map<String, StepResult> results = new ConcurrentHashMap<>();     // by session and step
        Map<String, ByteString> resultSignatures = new ConcurrentHashMap<>();
        try (Transport clean = SwarmProtocolTest.memory();
             Transport second = new Recording(clean, f -> { // what the second server receives from the first
                 if (f.header().hasPush()) pushes.put(f.header().getPush().getStep(), f.header().getPush());
                 if (f.header().hasPushSignature()) pushSignatures.put(f.header().getPushSignature().getStep(), f.header().getPushSignature().getSignature());
             });
             Transport client = new Recording(SwarmProtocolTest.memory(), f -> { // what the client receives
                 var h = f.header();
                 if (h.hasResult()) results.put(key(h.getResult().getSessionId(), h.getResult().getStep()), h.getResult());
                 if (h.hasResultSignature()) resultSignatures.put(key(h.getResultSignature().getSessionId(), h.getResultSignature().getStep()),
                         h.getResultSignature().getSignature());
             });
             var swarm = new TestSwarm(backend, SwarmProtocolTest.MODEL, 3, i -> i == 1 ? second : clean, client, "memory:0", 1L << 30,
                     i -> i == 0 ? first : Identity.generate());
             var head = backend.openHead(SwarmProtocolTest.MODEL, dev.catena.api.spi.SpanOptions.cpu(1))) {
            swarm.generate(head, Mode.PUSH, "3", 8);
            int checked = 0;
            for (var e : pushes.entrySet()) {
                long step = e.getKey();
                Push push = e.getValue();
                ByteString pushSig = pushSignatures.get(step);
                StepResult result = results.get(key(push.getOriginSessionId(), step));
                ByteString resultSig = resultSignatures.get(key(push.getOriginSessionId(), step));
                if (pushSig == null || result == null || resultSig == null) continue; // a trailing signature still on its way
                assertEquals(push.getSessionId(), result.getPushedSessionId(), "the result names the session it pushed to");
                assertArrayEquals(Statements.step(push), Statements.step(result), "step " + step + ": one statement");
                assertEquals(pushSig, resultSig, "step " + step + ": one signature for the push and the result");
                assertTrue(Statements.verify(first.publicKey(), Statements.step(push), pushSig.toByteArray()), "step " + step);
                checked++;
            }
            assertTrue(checked >= 6, "steps pushed and answered by the first server: " + checked);
        }
    }
}

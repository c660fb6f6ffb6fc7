package dev.catena.core.swarm;

import com.google.protobuf.ByteString;
import dev.catena.api.BlockRange;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.client.ServerLink;
import dev.catena.testing.CountingBackend;
import dev.catena.core.protocol.Tensors;
import dev.catena.core.server.SwarmServer;
import dev.catena.transport.proto.DType;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.OpenSession;
import dev.catena.transport.proto.PeerRef;
import dev.catena.transport.proto.Step;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Session rules that need a hand-driven client: changing next mid-session, idle timeout. */
class SessionLifecycleTest {
    static final Path MODEL = Path.of("counting.gguf");

    static Transport memory() {
        return Catena.transportProviders().stream().filter(p -> p.name().equals("memory")).findFirst().orElseThrow()
                .create(TransportConfig.defaults());
    }

    static SwarmServer server(Transport t, BlockRange blocks, Duration idle) {
        return SwarmServer.start(new SwarmServer.Config(MODEL, "counting.gguf", blocks, SpanOptions.cpu(1), "memory:0", 1L << 20,
                idle, 1), new CountingBackend(4), t);
    }

    static byte[] open(ServerLink link, BlockRange blocks, PeerRef next) {
        var o = OpenSession.newBuilder().setModelId("counting.gguf").setStart(blocks.start()).setEnd(blocks.end())
                .setMaxLength(16).setWireDtype(DType.F32);
        if (next != null) o.setNext(next);
        Envelope reply = link.request(Envelope.newBuilder().setOpen(o), null, Duration.ofSeconds(5));
        assertTrue(reply.hasOpened(), reply.toString());
        return reply.getOpened().getSessionId().toByteArray();
    }

    static void step(ServerLink link, byte[] id, long step, int position, PeerRef next) {
        var st = Step.newBuilder().setSessionId(ByteString.copyFrom(id)).setStep(step).setPosition(position)
                .setHidden(Tensors.meta(DType.F32, 1, CountingBackend.N_EMBD));
        if (next != null) st.setNext(next);
        link.send(Envelope.newBuilder().setStep(st), Tensors.encode(new float[CountingBackend.N_EMBD], DType.F32));
    }

    static void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) Thread.sleep(5);
        assertTrue(condition.getAsBoolean(), what);
    }

    @Test
    void nextChangedMidSessionIsHonoured() throws Exception {
        try (Transport t = memory(); var a = server(t, new BlockRange(0, 2), Duration.ofMinutes(1));
             var b = server(t, new BlockRange(2, 4), Duration.ofMinutes(1));
             var c = server(t, new BlockRange(2, 4), Duration.ofMinutes(1));
             var client = new dev.catena.core.client.SwarmClient(t, Duration.ofSeconds(5))) {
            byte[] idB = open(client.link(b.address()), b.blocks(), null);
            byte[] idC = open(client.link(c.address()), c.blocks(), null);
            var toB = PeerRef.newBuilder().setAddress(b.address()).setSessionId(ByteString.copyFrom(idB)).build();
            var toC = PeerRef.newBuilder().setAddress(c.address()).setSessionId(ByteString.copyFrom(idC)).build();
            byte[] idA = open(client.link(a.address()), a.blocks(), toB);
            step(client.link(a.address()), idA, 1, 0, null);
            await(() -> b.counters().pushesReceived.get() == 1, "B gets the first push");
            step(client.link(a.address()), idA, 2, 1, toC); // a replacement: from now on, push to C
            await(() -> c.counters().pushesReceived.get() == 1, "C gets the second push");
            // Receipt is counted on the I/O thread, the verdict on C's session thread: wait for the verdict.
            await(() -> c.counters().pushesUsed.get() + c.counters().pushesDropped.get() == 1, "C decides on the push");
            assertEquals(1, b.counters().pushesReceived.get(), "B gets no more");
            assertEquals(0, c.counters().pushesUsed.get(), "C's session is at length 0, the push is for position 1: dropped");
            assertEquals(1, c.counters().pushesDropped.get());
        }
    }

    /**
     * A server whose next peer is slow to accept a connection keeps answering its client: it never
     * connects on its compute thread (which would stall its steps past the client's timeout and get it
     * blamed), and the push goes out once the connection is up.
     */
    @Test
    void aPeerSlowToAcceptDoesNotStallTheServer() throws Exception {
        try (Transport t = memory(); var b = server(t, new BlockRange(2, 4), Duration.ofMinutes(1))) {
            Transport slowToB = new Transport() {
                @Override public dev.catena.transport.spi.Listener listen(String bind, dev.catena.transport.spi.FrameHandler h) {
                    return t.listen(bind, h);
                }
                @Override public dev.catena.transport.spi.Connection connect(String address, dev.catena.transport.spi.FrameHandler h,
                                                                             Duration timeout) {
                    if (address.equals(b.address())) {
                        try {
                            Thread.sleep(3_000); // a peer whose accept queue is full, or a slow network
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    return t.connect(address, h, timeout);
                }
                @Override public void close() { }
            };
            try (var a = SwarmServer.start(new SwarmServer.Config(MODEL, "counting.gguf", new BlockRange(0, 2), SpanOptions.cpu(1),
                    "memory:0", 1L << 20, Duration.ofMinutes(1), 1), new CountingBackend(4), slowToB);
                 var client = new dev.catena.core.client.SwarmClient(t, Duration.ofSeconds(5))) {
                var route = List.of(new dev.catena.core.client.Hop(a.address(), a.blocks()),
                        new dev.catena.core.client.Hop(b.address(), b.blocks()));
                // A 1 s step timeout: a server stuck in a 3 s connect would fail the first steps.
                try (var session = dev.catena.core.client.RemoteSession.open(client, "counting.gguf", CountingBackend.N_EMBD, route,
                        dev.catena.core.client.RemoteSession.Mode.PUSH, 16, DType.F32, Duration.ofSeconds(1))) {
                    for (int p = 0; p < 3; p++) {
                        assertEquals(4f, session.step(new float[CountingBackend.N_EMBD], 1, p)[0], "step " + p);
                    }
                    await(() -> a.counters().pushesSent.get() >= 1, "pushes flow once the connection is up");
                    for (int p = 3; p < 8; p++) session.step(new float[CountingBackend.N_EMBD], 1, p);
                    assertTrue(b.counters().pushesReceived.get() > 0, "B receives pushes: " + b.counters().snapshot());
                }
            }
        }
    }

    @Test
    void idleSessionsAreClosedAndTheirMemoryFreed() throws Exception {
        try (Transport t = memory(); var s = server(t, new BlockRange(0, 4), Duration.ofMillis(200));
             var client = new dev.catena.core.client.SwarmClient(t, Duration.ofSeconds(5))) {
            open(client.link(s.address()), s.blocks(), null);
            assertEquals(1, s.openSessions());
            assertTrue(s.kvBytesReserved() > 0);
            await(() -> s.openSessions() == 0 && s.kvBytesReserved() == 0, "the idle session is closed and its KV freed");
        }
    }

    @Test
    void sessionsDieWithTheirClientsConnection() throws Exception {
        try (Transport t = memory(); var s = server(t, new BlockRange(0, 4), Duration.ofMinutes(1))) {
            var client = new dev.catena.core.client.SwarmClient(t, Duration.ofSeconds(5));
            open(client.link(s.address()), s.blocks(), null);
            open(client.link(s.address()), s.blocks(), null);
            assertEquals(2, s.openSessions());
            client.close();
            await(() -> s.openSessions() == 0 && s.kvBytesReserved() == 0, "sessions of a vanished client are freed at once");
        }
    }
}

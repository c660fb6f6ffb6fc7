package dev.catena.transport.contract;

import dev.catena.transport.contract.TransportTestKit.Closed;
import dev.catena.transport.contract.TransportTestKit.Received;
import dev.catena.transport.contract.TransportTestKit.Recorder;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.Hello;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportException;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.catena.transport.contract.TransportTestKit.WAIT;
import static dev.catena.transport.contract.TransportTestKit.assertFrame;
import static dev.catena.transport.contract.TransportTestKit.await;
import static dev.catena.transport.contract.TransportTestKit.frame;
import static dev.catena.transport.contract.TransportTestKit.payload;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What every transport must do, whatever carries the frames: extend it with the transport's
 * provider and addresses (see {@link TransportTestBase}). The harder cases (a slow peer, a hostile
 * peer, latency) are in {@link TransportRobustnessCases}.
 */
public abstract class TransportContractTest extends TransportRobustnessCases {
    @Test
    void roundTripKeepsHeaderAndPayloadIntact() {
        Pair p = echoPair();
        Connection accepted = p.serverSide().nextOpen();
        assertFalse(accepted.remoteAddress().isEmpty());
        assertTrue(p.client().isOpen());

        byte[] bytes = payload(seed, 1, 8192);
        Envelope header = Envelope.newBuilder().setRequestId(7)
                .setHello(Hello.newBuilder().setProtocolVersion(1).setAgent("contract")).build();
        ByteBuffer buffer = ByteBuffer.allocateDirect(bytes.length + 10).position(3);
        buffer.put(bytes).flip().position(3); // only [position, limit) is sent
        p.client().send(new Frame(header, buffer));
        assertEquals(3, buffer.position(), "send must not move the caller's position");
        p.client().send(Frame.of(Envelope.newBuilder().setRequestId(8).build()));
        p.client().send(new Frame(Envelope.getDefaultInstance(), ByteBuffer.wrap(new byte[]{1, 2, 3})));

        Received echoed = p.clientSide().next();
        assertEquals(header, echoed.header());
        assertFrame(echoed, 7, bytes);
        assertTrue(p.serverSide().next().readOnly(), "a received payload is a read-only view");
        assertFrame(p.clientSide().next(), 8, new byte[0]);
        assertFrame(p.clientSide().next(), 0, new byte[]{1, 2, 3}); // an empty header
        assertTrue(p.serverSide().opened.isEmpty(), "onOpen once per accepted connection");
    }

    @Test
    void tenThousandFramesArriveInOrder() {
        Pair p = echoPair();
        int n = 10_000;
        for (int i = 0; i < n; i++) {
            p.client().send(frame(i, payload(seed, i, 256), (i & 1) == 0));
        }
        for (int i = 0; i < n; i++) {
            assertFrame(p.clientSide().next(), i, payload(seed, i, 256));
        }
    }

    @Test
    void sixteenConnectionsSendInParallel() throws Exception {
        Transport server = transport();
        Listener listener = server.listen(bindAddress(), Recorder.echoing());
        Transport client = transport();
        int connections = 16;
        int frames = 300;
        try (ExecutorService pool = Executors.newFixedThreadPool(connections)) {
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < connections; c++) {
                long base = (long) c << 32;
                done.add(pool.submit(() -> {
                    Recorder replies = new Recorder();
                    Connection connection = client.connect(listener.address(), replies, WAIT);
                    for (int i = 0; i < frames; i++) {
                        connection.send(frame(base + i, payload(seed, base + i, 2048), true));
                    }
                    for (int i = 0; i < frames; i++) {
                        assertFrame(replies.next(), base + i, payload(seed, base + i, 2048));
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(WAIT.toMillis() * 2, TimeUnit.MILLISECONDS);
            }
        }
    }

    @Test
    void severalMebibytePayloadsRoundTrip() {
        Pair p = echoPair();
        byte[] big = new byte[6 << 20];
        random.nextBytes(big);
        p.client().send(frame(1, big, false));
        p.client().send(frame(2, big, true));
        assertFrame(p.clientSide().next(), 1, big);
        assertFrame(p.clientSide().next(), 2, big);
    }

    @Test
    void framesFromManyThreadsOnOneConnectionAllArriveIntact() throws Exception {
        Transport server = transport();
        AtomicInteger inHandler = new AtomicInteger();
        AtomicBoolean overlapped = new AtomicBoolean();
        Recorder serverSide = new Recorder((c, f) -> {
            if (inHandler.incrementAndGet() != 1) {
                overlapped.set(true);
            }
            Thread.onSpinWait();
            inHandler.decrementAndGet();
        });
        Listener listener = server.listen(bindAddress(), serverSide);
        Connection connection = transport().connect(listener.address(), new Recorder(), WAIT);
        int threads = 8;
        int frames = 500;
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int t = 0; t < threads; t++) {
                long base = (long) t << 32;
                pool.submit(() -> {
                    for (int i = 0; i < frames; i++) {
                        connection.send(frame(base + i, payload(seed, base + i, 512), (i & 1) == 1));
                    }
                });
            }
        }
        long[] nextPerThread = new long[threads];
        for (int k = 0; k < threads * frames; k++) {
            Received r = serverSide.next();
            int t = (int) (r.id() >>> 32);
            assertEquals(nextPerThread[t]++, r.id() & 0xFFFF_FFFFL, "one thread's frames arrive in its order");
            assertFrame(r, r.id(), payload(seed, r.id(), 512));
        }
        assertFalse(overlapped.get(), "one connection's onFrame calls must not overlap");
    }

    @Test
    void oversizeFrameClosesTheReceiversConnectionAndTheListenerKeepsServing() {
        Transport server = transport(maxFrame(64 << 10));
        Recorder serverSide = Recorder.echoing();
        Listener listener = server.listen(bindAddress(), serverSide);
        Transport client = transport();
        Recorder clientSide = new Recorder();
        Connection connection = client.connect(listener.address(), clientSide, WAIT);
        connection.send(frame(1, new byte[256 << 10], true));

        Closed closed = serverSide.nextClose();
        assertNotNull(closed.cause(), "the receiver reports why it closed");
        assertInstanceOf(TransportException.class, closed.cause());
        clientSide.nextClose();
        await(() -> !connection.isOpen(), "the sender to see the connection closed");

        Recorder again = new Recorder();
        client.connect(listener.address(), again, WAIT).send(frame(2, new byte[100], true));
        assertFrame(again.next(), 2, new byte[100]);
    }

    @Test
    void sendingAnOversizeFrameClosesLocallyWithACause() {
        Transport server = transport();
        Recorder serverSide = new Recorder();
        Listener listener = server.listen(bindAddress(), serverSide);
        Transport client = transport(maxFrame(64 << 10));
        Recorder clientSide = new Recorder();
        Connection connection = client.connect(listener.address(), clientSide, WAIT);
        assertDoesNotThrow(() -> connection.send(frame(1, new byte[64 << 10], true)));
        assertInstanceOf(TransportException.class, clientSide.nextClose().cause());
        assertFalse(connection.isOpen());
        serverSide.nextClose();
        assertTrue(serverSide.frames.isEmpty());
        assertEquals(1, client.stats().framesDropped());
    }

    @Test
    void closingOneSideCallsOnCloseOnceOnEachSide() throws Exception {
        Pair p = echoPair();
        Connection accepted = p.serverSide().nextOpen();
        p.client().close();
        p.client().close();
        Closed server = p.serverSide().nextClose();
        assertEquals(accepted, server.connection());
        assertNull(server.cause(), "an orderly close has no cause");
        assertNull(p.clientSide().nextClose().cause());
        await(() -> !accepted.isOpen(), "the server end to be closed");

        Recorder clientSide = new Recorder();
        Connection second = transport().connect(p.listener().address(), clientSide, WAIT);
        p.serverSide().nextOpen().close();
        assertEquals(second, clientSide.nextClose().connection());
        assertFalse(second.isOpen());
        p.serverSide().nextClose();
        Thread.sleep(100);
        assertTrue(clientSide.closed.isEmpty() && p.clientSide().closed.isEmpty() && p.serverSide().closed.isEmpty(),
                "onClose is called once");
    }

    @Test
    void sendAfterCloseIsDroppedSilentlyAndCounted() {
        Transport client = transport();
        Pair p = echoPair();
        Connection connection = client.connect(p.listener().address(), new Recorder(), WAIT);
        connection.close();
        for (int i = 0; i < 100; i++) {
            connection.send(frame(i, new byte[10], false));
        }
        assertEquals(100, client.stats().framesDropped());
        assertEquals(0, client.stats().framesSent());
    }

    @Test
    void connectingToADeadAddressFailsWithinTheTimeout() throws Exception {
        String dead = deadAddress();
        long start = System.nanoTime();
        var e = assertThrows(TransportException.class,
                () -> transport().connect(dead, new Recorder(), Duration.ofSeconds(2)));
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(4).toNanos(), "took too long");
        assertTrue(e.getMessage().contains(dead), "the message names the address: " + e.getMessage());
    }

    @Test
    void closingAListenerClosesItsConnectionsAndRefusesNewOnes() {
        Transport server = transport();
        Recorder serverSide = new Recorder();
        Listener listener = server.listen(bindAddress(), serverSide);
        Transport client = transport();
        List<Recorder> clients = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            clients.add(new Recorder());
            client.connect(listener.address(), clients.getLast(), WAIT);
            serverSide.nextOpen();
        }
        listener.close();
        listener.close();
        for (Recorder c : clients) {
            assertFalse(c.nextClose().connection().isOpen());
            serverSide.nextClose();
        }
        assertThrows(TransportException.class, () -> client.connect(listener.address(), new Recorder(), Duration.ofSeconds(2)));
    }

    @Test
    void aThrowingHandlerClosesOnlyItsConnection() {
        Transport server = transport();
        Recorder serverSide = new Recorder((c, f) -> {
            if (f.header().getRequestId() == 666) {
                throw new IllegalStateException("handler bug (expected by the test)");
            }
            c.send(TransportTestKit.copy(f));
        });
        Listener listener = server.listen(bindAddress(), serverSide);
        Transport client = transport();
        Recorder bad = new Recorder();
        Recorder good = new Recorder();
        Connection badConnection = client.connect(listener.address(), bad, WAIT);
        Connection goodConnection = client.connect(listener.address(), good, WAIT);
        badConnection.send(frame(666, new byte[1], true));
        assertEquals("handler bug (expected by the test)", serverSide.nextClose().cause().getMessage());
        bad.nextClose();
        goodConnection.send(frame(1, new byte[5], true));
        assertFrame(good.next(), 1, new byte[5]);
    }
}

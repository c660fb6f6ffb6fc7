package dev.catena.transport.contract;

import dev.catena.transport.contract.TransportTestKit.Received;
import dev.catena.transport.contract.TransportTestKit.Recorder;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import dev.catena.transport.spi.TransportException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.catena.transport.contract.TransportTestKit.WAIT;
import static dev.catena.transport.contract.TransportTestKit.assertFrame;
import static dev.catena.transport.contract.TransportTestKit.await;
import static dev.catena.transport.contract.TransportTestKit.frame;
import static dev.catena.transport.contract.TransportTestKit.payload;
import static dev.catena.transport.contract.TransportTestKit.poll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The contract's harder cases: a slow peer, a closing transport, a hostile peer, latency. */
public abstract class TransportRobustnessCases extends TransportLimitCases {

    @Test
    void aSlowReaderMakesTheSenderDropWholeFramesInOrderAndTheConnectionRecovers() {
        TransportConfig config = maxFrame((1 << 20) + 1024); // send queue limit: 8 MiB
        CountDownLatch release = new CountDownLatch(1);
        Recorder serverSide = new Recorder((c, f) -> {
            if (f.header().getRequestId() == 0) {
                try {
                    release.await(WAIT.toMillis(), TimeUnit.MILLISECONDS); // a reader stuck on its first frame
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        Listener listener = transport(config).listen(bindAddress(), serverSide);
        Transport client = transport(config);
        Connection connection = client.connect(listener.address(), new Recorder(), WAIT);
        int n = 64;
        try {
            for (int i = 0; i < n; i++) {
                byte[] bytes = new byte[1 << 20];
                Arrays.fill(bytes, (byte) i);
                connection.send(frame(i, bytes, false));
            }
            assertTrue(client.stats().framesDropped() > 0, "64 MiB cannot all be queued for a reader that is stuck");
        } finally {
            release.countDown();
        }
        await(() -> client.stats().framesSent() + client.stats().framesDropped() == n, "every frame sent or dropped");
        long delivered = client.stats().framesSent();
        long previous = -1;
        for (long k = 0; k < delivered; k++) {
            Received r = serverSide.next();
            assertTrue(r.id() > previous, "frames stay in order, with gaps");
            previous = r.id();
            byte[] expected = new byte[1 << 20];
            Arrays.fill(expected, (byte) r.id());
            assertFrame(r, r.id(), expected);
        }
        connection.send(frame(1000, new byte[3], true));
        assertEquals(1000, serverSide.next().id(), "the connection still works");
        assertTrue(connection.isOpen());
    }

    @Test
    void closingATransportClosesEverythingItHoldsInBoundedTime() {
        Transport server = transport();
        Recorder serverSide = new Recorder();
        Listener listener = server.listen(bindAddress(), serverSide);
        Transport client = newTransport(TransportConfig.defaults());
        Recorder a = new Recorder();
        Recorder b = new Recorder();
        client.connect(listener.address(), a, WAIT);
        client.connect(listener.address(), b, WAIT);
        Listener clientListener = client.listen(bindAddress(), new Recorder());
        Recorder inbound = new Recorder();
        server.connect(clientListener.address(), inbound, WAIT);

        long start = System.nanoTime();
        client.close();
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(8).toNanos(), "close must be bounded");
        client.close();
        a.nextClose();
        b.nextClose();
        inbound.nextClose();
        serverSide.nextClose();
        serverSide.nextClose();
        assertThrows(TransportException.class, () -> client.listen(bindAddress(), new Recorder()));
        assertThrows(TransportException.class, () -> client.connect(listener.address(), new Recorder(), WAIT));
        assertThrows(TransportException.class,
                () -> server.connect(clientListener.address(), new Recorder(), Duration.ofSeconds(2)));
    }

    @Test
    void aHandlerMayCloseItsOwnTransportWithoutDeadlock() {
        Transport server = newTransport(TransportConfig.defaults());
        CompletableFuture<Long> closeNanos = new CompletableFuture<>();
        Listener listener = server.listen(bindAddress(), new Recorder((c, f) -> {
            long start = System.nanoTime();
            server.close();
            closeNanos.complete(System.nanoTime() - start);
        }));
        Recorder clientSide = new Recorder();
        transport().connect(listener.address(), clientSide, WAIT).send(frame(1, new byte[1], true));
        clientSide.nextClose();
        long nanos = closeNanos.orTimeout(WAIT.toMillis(), TimeUnit.MILLISECONDS).join();
        assertTrue(nanos < Duration.ofSeconds(1).toNanos(), "close from a handler must not wait for itself");
        server.close();
    }

    @Test
    void connectingFromAHandlerIsRefusedNotHung() {
        Transport transport = transport();
        Listener other = transport.listen(bindAddress(), new Recorder());
        CompletableFuture<Throwable> refused = new CompletableFuture<>();
        Listener listener = transport.listen(bindAddress(), new Recorder((c, f) -> {
            try {
                transport.connect(other.address(), new Recorder(), WAIT).close();
                refused.complete(null);
            } catch (RuntimeException e) {
                refused.complete(e);
            }
        }));
        transport().connect(listener.address(), new Recorder(), WAIT).send(frame(1, new byte[1], true));
        assertInstanceOf(IllegalStateException.class, refused.orTimeout(WAIT.toMillis(), TimeUnit.MILLISECONDS).join());
    }

    @Test
    void roundTripLatencyOf16KiBFrames() {
        Transport server = transport();
        Listener listener = server.listen(bindAddress(), Recorder.echoing());
        BlockingQueue<Long> replies = new LinkedBlockingQueue<>();
        byte[] bytes = new byte[16 << 10];
        random.nextBytes(bytes);
        byte[][] last = new byte[1][];
        Connection connection = transport().connect(listener.address(), new FrameHandler() {
            @Override
            public void onFrame(Connection c, Frame f) {
                if (replies.isEmpty() && f.payload().remaining() == bytes.length) {
                    last[0] = new byte[bytes.length];
                    f.payload().duplicate().get(last[0]);
                }
                replies.add(f.header().getRequestId());
            }
        }, WAIT);
        ByteBuffer payload = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
        int warmup = 1000;
        long[] nanos = new long[2000];
        for (int i = -warmup; i < nanos.length; i++) {
            long start = System.nanoTime();
            connection.send(new Frame(Envelope.newBuilder().setRequestId(i + warmup).build(), payload));
            assertEquals(i + warmup, poll(replies, "a reply"));
            if (i >= 0) {
                nanos[i] = System.nanoTime() - start;
            }
        }
        assertTrue(Arrays.equals(bytes, last[0]), "the echoed payload is intact");
        Arrays.sort(nanos);
        double p50 = nanos[nanos.length / 2] / 1e3;
        double p99 = nanos[nanos.length * 99 / 100] / 1e3;
        System.out.printf("[%s] 16 KiB round trip over %d pings: p50 %.1f us, p99 %.1f us%n",
                describe(), nanos.length, p50, p99);
        assertTrue(p50 < 5_000, "p50 " + p50 + " us: something waits (Nagle? a timer?)");
    }

    @Test
    void aListenerSurvivesGarbageOnTheWireAndKeepsServingAnHonestPeer() throws Exception {
        assumeTrue(hasWire(), "no wire to write garbage on");
        int max = 64 << 10;
        AtomicInteger closes = new AtomicInteger();
        AtomicInteger causes = new AtomicInteger();
        Listener listener = transport(maxFrame(max)).listen(bindAddress(), new FrameHandler() {
            @Override
            public void onFrame(Connection c, Frame f) {
                c.send(TransportTestKit.copy(f));
            }

            @Override
            public void onClose(Connection c, Throwable cause) {
                closes.incrementAndGet();
                causes.addAndGet(cause == null ? 0 : 1);
            }
        });
        Recorder honest = new Recorder();
        Connection connection = transport().connect(listener.address(), honest, WAIT);
        AtomicBoolean stop = new AtomicBoolean();
        int rawConnections = 0;
        try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Future<Integer> pings = pool.submit(() -> {
                int i = 0;
                for (; !stop.get(); i++) {
                    byte[] p = payload(seed, i, 1024);
                    connection.send(frame(i, p, true));
                    assertFrame(honest.next(), i, p);
                }
                return i;
            });
            rawConnections = writeGarbage(listener.address(), 2000, new Random(seed), max);
            stop.set(true);
            assertTrue(pings.get(WAIT.toMillis(), TimeUnit.MILLISECONDS) > 0, "the honest peer got replies");
        }
        int expectedCloses = rawConnections;
        await(() -> closes.get() == expectedCloses, "the listener to close all " + expectedCloses + " raw connections");
        assertTrue(causes.get() > 0, "malformed frames close with a cause");
        assertTrue(connection.isOpen());
        Recorder fresh = new Recorder();
        transport().connect(listener.address(), fresh, WAIT).send(frame(1, new byte[7], false));
        assertFrame(fresh.next(), 1, new byte[7]);
    }

    /** Writes {@code samples} seeded malformed (and some valid) frames over fresh sockets; returns how many sockets. */
    protected static int writeGarbage(String address, int samples, Random random, int maxFrameBytes) throws IOException {
        int colon = address.lastIndexOf(':');
        String host = address.substring(0, colon).replace("[", "").replace("]", "");
        int port = Integer.parseInt(address.substring(colon + 1));
        int sockets = 0;
        for (int written = 0; written < samples; ) {
            try (Socket socket = new Socket(host, port)) {
                sockets++;
                if (random.nextInt(4) == 0) {
                    socket.setSoLinger(true, 0); // some end with a reset instead of a FIN
                }
                OutputStream out = socket.getOutputStream();
                for (int k = 1 + random.nextInt(20); k > 0 && written < samples; k--) {
                    WireFrames.Sample sample = WireFrames.sample(random, maxFrameBytes);
                    written++;
                    try {
                        out.write(sample.bytes());
                    } catch (IOException closedByTheListener) {
                        break;
                    }
                }
            }
        }
        return sockets;
    }

    /** For reports: the provider's name and implementation. */
    protected String describe() {
        return provider().name() + "/" + provider().implementation();
    }
}

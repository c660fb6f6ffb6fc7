package dev.catena.transport.contract;

import dev.catena.transport.contract.TransportTestKit.Recorder;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import dev.catena.transport.spi.TransportException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.catena.transport.contract.TransportTestKit.WAIT;
import static dev.catena.transport.contract.TransportTestKit.assertFrame;
import static dev.catena.transport.contract.TransportTestKit.await;
import static dev.catena.transport.contract.TransportTestKit.frame;
import static dev.catena.transport.contract.TransportTestKit.payload;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The contract's memory bounds: per-connection frame limits, the inbound budget, read timeouts, caps. */
public abstract class TransportLimitCases extends TransportTestBase {

    /** Allows 2 KiB until a frame with request id 1 arrived (a "Hello"), then 64 KiB. */
    private static final class Gate implements FrameHandler {
        final Recorder recorder = new Recorder();
        volatile boolean greeted;

        @Override
        public long maxInboundFrameBytes(Connection connection) {
            return greeted ? 64 << 10 : 2 << 10;
        }

        @Override
        public void onFrame(Connection connection, dev.catena.transport.spi.Frame frame) {
            if (frame.header().getRequestId() == 1) {
                greeted = true;
            }
            recorder.onFrame(connection, frame);
        }

        @Override
        public void onClose(Connection connection, Throwable cause) {
            recorder.onClose(connection, cause);
        }
    }

    @Test
    void aHandlersLimitAppliesFromTheNextFrameAndALargerFrameClosesTheConnection() {
        Transport server = transport();
        Gate gate = new Gate();
        Listener listener = server.listen(bindAddress(), gate);
        Connection client = transport().connect(listener.address(), new Recorder(), WAIT);
        byte[] hello = payload(seed, 1, 1000);
        byte[] big = payload(seed, 2, 10_000);
        client.send(frame(1, hello, false));
        client.send(frame(2, big, true)); // sent at once: admitted only because the "Hello" came first
        assertFrame(gate.recorder.next(), 1, hello);
        assertFrame(gate.recorder.next(), 2, big);
        client.send(frame(3, new byte[100 << 10], false));
        var closed = gate.recorder.nextClose();
        assertInstanceOf(TransportException.class, closed.cause());
        assertTrue(closed.cause().getMessage().contains("allows"), closed.cause().getMessage());
        assertEquals(1, server.stats().framesRefused());
    }

    @Test
    void beforeItsFirstFrameIsAdmittedAConnectionMaySendOnlyWhatTheHandlerAllows() {
        Gate gate = new Gate();
        Listener listener = transport().listen(bindAddress(), gate);
        Connection client = transport().connect(listener.address(), new Recorder(), WAIT);
        client.send(frame(7, new byte[3 << 10], false));
        assertInstanceOf(TransportException.class, gate.recorder.nextClose().cause());
        assertTrue(gate.recorder.frames.isEmpty(), "nothing delivered");
    }

    @Test
    void anAnnouncedFrameOverTheLimitIsRefusedAtItsPrefixBeforeTheBodyIsSent() throws IOException {
        assumeTrue(hasWire(), "no wire");
        Gate gate = new Gate();
        Transport server = transport();
        Listener listener = server.listen(bindAddress(), gate);
        try (Socket socket = rawSocket(listener.address())) {
            socket.getOutputStream().write(new byte[] {0, 0x40, 0, 0}); // 4 MiB announced, no body
            socket.getOutputStream().flush();
            assertInstanceOf(TransportException.class, gate.recorder.nextClose().cause());
            assertClosedByPeer(socket);
        }
        assertEquals(0, server.inboundBytesBuffered());
    }

    @Test
    void partialFramesShareOneBudgetAndTheLargestHolderIsClosedFirst() throws Exception {
        assumeTrue(hasWire(), "no wire");
        int max = 1 << 20;
        TransportConfig config = maxFrame(max).withInboundBudgetBytes(3L << 20);
        Transport server = transport(config);
        Recorder serverSide = Recorder.echoing();
        Listener listener = server.listen(bindAddress(), serverSide);
        Recorder honestSide = new Recorder();
        Connection honest = transport().connect(listener.address(), honestSide, WAIT);
        List<Socket> attackers = new ArrayList<>();
        try {
            for (int i = 0; i < 8; i++) { // each announces a maximal frame and sends 600 KiB of it: 4.8 MiB in all
                Socket s = rawSocket(listener.address());
                attackers.add(s);
                OutputStream out = s.getOutputStream();
                out.write(WireFrames.withLengths(max, 0, new byte[0]));
                out.write(new byte[(600 << 10) - 4]);
                out.flush();
                long held = server.inboundBytesBuffered(); // may pass the budget by the reads in flight, 64 KiB a loop
                assertTrue(held <= config.inboundBudgetBytes() + (1 << 20), "held " + held);
            }
            await(() -> server.stats().connectionsRefused() >= 3, "the budget to close the largest holders");
            // Reads in flight when the third was closed may still land: back within the budget once they have.
            await(() -> server.inboundBytesBuffered() <= config.inboundBudgetBytes(), "the bytes held back within the budget");
            byte[] p = payload(seed, 9, 100 << 10);
            honest.send(frame(9, p, true));
            assertFrame(honestSide.next(), 9, p);
        } finally {
            for (Socket s : attackers) s.close();
        }
        await(() -> server.inboundBytesBuffered() == 0, "closed connections to release their bytes");
    }

    @Test
    void silentAndSlowPeersAreDroppedAfterTheReadTimeouts() throws Exception {
        assumeTrue(hasWire(), "no wire");
        TransportConfig config = maxFrame(1 << 20).withTimeouts(Duration.ofMillis(300), Duration.ofMillis(300));
        Transport server = transport(config);
        Recorder serverSide = Recorder.echoing();
        Listener listener = server.listen(bindAddress(), serverSide);
        try (Socket silent = rawSocket(listener.address()); Socket slow = rawSocket(listener.address())) {
            OutputStream out = slow.getOutputStream();
            out.write(WireFrames.encode(Envelope.newBuilder().setRequestId(1).build(), new byte[0])); // a whole first frame
            out.write(new byte[] {0, 0, 1}); // then a prefix, dripped
            out.flush();
            assertClosedByPeer(silent);
            assertClosedByPeer(slow);
        }
        assertTrue(server.stats().connectionsRefused() >= 2);
        serverSide.frames.clear(); // the slow peer's whole frame
        Connection honest = transport().connect(listener.address(), new Recorder(), WAIT);
        honest.send(frame(1, new byte[10], false));
        assertFrame(serverSide.next(), 1, new byte[10]);
    }

    @Test
    void connectionsOverTheCapsAreClosedAtAccept() throws Exception {
        assumeTrue(hasWire(), "no wire");
        Transport server = transport(maxFrame(1 << 20).withConnectionCaps(0, 2));
        Recorder serverSide = new Recorder();
        Listener listener = server.listen(bindAddress(), serverSide);
        try (Socket a = rawSocket(listener.address()); Socket b = rawSocket(listener.address());
             Socket c = rawSocket(listener.address())) {
            assertClosedByPeer(c);
            serverSide.nextOpen();
            serverSide.nextOpen();
            assertEquals(1, server.stats().connectionsRefused());
        }
        await(() -> serverSide.closed.size() == 2, "both admitted connections to close");
        Connection again = transport().connect(listener.address(), new Recorder(), WAIT);
        again.send(frame(1, new byte[10], false));
        assertFrame(serverSide.next(), 1, new byte[10]); // the count went back down
    }

    @Test
    void atTheTotalCapTheOldestConnectionThatSentNothingMakesRoom() throws Exception {
        assumeTrue(hasWire(), "no wire");
        Transport server = transport(maxFrame(1 << 20).withConnectionCaps(2, 0));
        Recorder serverSide = new Recorder();
        Listener listener = server.listen(bindAddress(), serverSide);
        byte[] whole = WireFrames.encode(Envelope.newBuilder().setRequestId(1).build(), new byte[0]);
        try (Socket silent = rawSocket(listener.address()); Socket spoke = rawSocket(listener.address())) {
            serverSide.nextOpen();
            serverSide.nextOpen();
            spoke.getOutputStream().write(whole);
            spoke.getOutputStream().flush();
            serverSide.next();
            Connection honest = transport().connect(listener.address(), new Recorder(), WAIT);
            honest.send(frame(1, new byte[10], false));
            assertFrame(serverSide.next(), 1, new byte[10]); // admitted over the cap
            assertClosedByPeer(silent); // the connection that had sent nothing made room
            spoke.getOutputStream().write(whole);
            spoke.getOutputStream().flush();
            assertEquals(1, serverSide.next().header().getRequestId(), "the one that had spoken stays");
            assertEquals(1, server.stats().connectionsRefused());
        }
    }

    static Socket rawSocket(String address) throws IOException {
        int colon = address.lastIndexOf(':');
        String host = address.substring(0, colon).replace("[", "").replace("]", "");
        Socket socket = new Socket(host, Integer.parseInt(address.substring(colon + 1)));
        socket.setSoTimeout((int) WAIT.toMillis());
        return socket;
    }

    /** Reads until the peer closes: end of stream or a reset. */
    static void assertClosedByPeer(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        try {
            while (in.read() >= 0) {
                // a frame the peer sent before closing
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the peer did not close within " + WAIT, e);
        } catch (IOException reset) {
            // closed with a reset
        }
    }
}

package dev.catena.transport.contract;

import dev.catena.transport.proto.Envelope;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.FrameHandler;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Helpers for transport tests: a recording handler, seeded payloads, bounded waits. */
public final class TransportTestKit {
    /** The longest any test waits for one event. */
    public static final Duration WAIT = Duration.ofSeconds(10);

    private TransportTestKit() {
    }

    /** A frame as received: the payload copied, since it is only valid during onFrame. */
    public record Received(Connection connection, Envelope header, byte[] payload, boolean readOnly) {
        static Received of(Connection connection, Frame frame) {
            byte[] bytes = new byte[frame.payload().remaining()];
            frame.payload().duplicate().get(bytes);
            return new Received(connection, frame.header(), bytes, frame.payload().isReadOnly());
        }

        public long id() {
            return header.getRequestId();
        }
    }

    public record Closed(Connection connection, Throwable cause) {
    }

    /** Records every callback, then runs an optional action on each frame (e.g. echo). */
    public static final class Recorder implements FrameHandler {
        public final BlockingQueue<Received> frames = new LinkedBlockingQueue<>();
        public final BlockingQueue<Connection> opened = new LinkedBlockingQueue<>();
        public final BlockingQueue<Closed> closed = new LinkedBlockingQueue<>();
        private final BiConsumer<Connection, Frame> action;

        public Recorder() {
            this(null);
        }

        public Recorder(BiConsumer<Connection, Frame> action) {
            this.action = action;
        }

        /** Sends every frame back (a copy: the received payload dies when onFrame returns). */
        public static Recorder echoing() {
            return new Recorder((c, f) -> c.send(copy(f)));
        }

        @Override
        public void onFrame(Connection connection, Frame frame) {
            frames.add(Received.of(connection, frame));
            if (action != null) {
                action.accept(connection, frame);
            }
        }

        @Override
        public void onOpen(Connection connection) {
            opened.add(connection);
        }

        @Override
        public void onClose(Connection connection, Throwable cause) {
            closed.add(new Closed(connection, cause));
        }

        public Received next() {
            return poll(frames, "a frame");
        }

        public Closed nextClose() {
            return poll(closed, "onClose");
        }

        public Connection nextOpen() {
            return poll(opened, "onOpen");
        }
    }

    public static <T> T poll(BlockingQueue<T> queue, String what) {
        try {
            T item = queue.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            if (item == null) {
                fail("no " + what + " within " + WAIT);
            }
            return item;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    public static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + WAIT + " waiting for " + what);
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** The payload of frame {@code id}: 0 to {@code maxLength} bytes, a function of seed and id. */
    public static byte[] payload(long seed, long id, int maxLength) {
        Random random = new Random(seed * 0x9E3779B97F4A7C15L + id);
        byte[] bytes = new byte[random.nextInt(maxLength + 1)];
        random.nextBytes(bytes);
        return bytes;
    }

    public static Frame frame(long id, byte[] payload, boolean direct) {
        ByteBuffer buffer = direct
                ? ByteBuffer.allocateDirect(payload.length).put(payload).flip()
                : ByteBuffer.wrap(payload);
        return new Frame(Envelope.newBuilder().setRequestId(id).build(), buffer);
    }

    public static Frame copy(Frame frame) {
        ByteBuffer copy = ByteBuffer.allocateDirect(frame.payload().remaining());
        copy.put(frame.payload().duplicate()).flip();
        return new Frame(frame.header(), copy);
    }

    public static void assertFrame(Received received, long id, byte[] payload) {
        assertEquals(id, received.id(), "request id");
        assertArrayEquals(payload, received.payload(), "payload of frame " + id);
    }
}

package dev.catena.testing;

import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongPredicate;

/**
 * A faulty server's transport: outgoing pushes have one payload byte flipped when {@code corrupt(step)}
 * says so, and their digest recomputed over the bad bytes, as a buggy or lying server would send
 * them (a link that damages bytes leaves the digest stale, and the receiver drops the push).
 */
public final class CorruptingTransport implements Transport {
    private final Transport inner;
    private final LongPredicate corrupt;
    public final AtomicLong corrupted = new AtomicLong();

    public CorruptingTransport(Transport inner, LongPredicate corrupt) {
        this.inner = inner;
        this.corrupt = corrupt;
    }

    @Override
    public Listener listen(String bindAddress, FrameHandler handler) {
        return inner.listen(bindAddress, handler);
    }

    @Override
    public Connection connect(String address, FrameHandler handler, Duration timeout) {
        Connection c = inner.connect(address, handler, timeout);
        return new Connection() {
            @Override public String remoteAddress() { return c.remoteAddress(); }
            @Override public boolean isOpen() { return c.isOpen(); }
            @Override public void close() { c.close(); }

            @Override
            public void send(Frame frame) {
                if (frame.header().hasPush() && corrupt.test(frame.header().getPush().getStep()) && frame.payload().remaining() > 0) {
                    ByteBuffer bad = ByteBuffer.allocate(frame.payload().remaining());
                    bad.put(frame.payload().duplicate()).flip();
                    bad.put(0, (byte) (bad.get(0) ^ 0x40));
                    corrupted.incrementAndGet();
                    var push = frame.header().getPush().toBuilder()
                            .setDigest(com.google.protobuf.ByteString.copyFrom(sha256(bad)));
                    frame = new Frame(frame.header().toBuilder().setPush(push).build(), bad);
                }
                c.send(frame);
            }
        };
    }

    @Override
    public void close() {
        inner.close();
    }

    /** The payload digest PROTOCOL.md defines (SHA-256 of the payload bytes), as the lying sender recomputes it. */
    private static byte[] sha256(ByteBuffer payload) {
        try {
            var sha = java.security.MessageDigest.getInstance("SHA-256");
            sha.update(payload.duplicate());
            return sha.digest();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}

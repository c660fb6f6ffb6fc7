package dev.catena.testing;

import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * A slow server's transport: every push and ring token it sends to a peer is held {@code delay} on the
 * sending thread before it is handed on, as a server that dawdles between its compute and its push
 * would. What it receives, and what it sends to clients, is untouched.
 */
public final class DelayingTransport implements Transport {
    private final Transport inner;
    private final long delayNanos;

    public DelayingTransport(Transport inner, Duration delay) {
        this.inner = inner;
        this.delayNanos = delay.toNanos();
    }

    @Override
    public Listener listen(String bindAddress, FrameHandler handler) {
        return inner.listen(bindAddress, handler);
    }

    @Override
    public Connection connect(String address, FrameHandler handler, Duration timeout) {
        return connect(address, handler, timeout, null);
    }

    @Override
    public Connection connect(String address, FrameHandler handler, Duration timeout, java.security.PublicKey expectedPeerKey) {
        Connection c = inner.connect(address, handler, timeout, expectedPeerKey);
        return new Connection() {
            @Override public String remoteAddress() { return c.remoteAddress(); }
            @Override public boolean isOpen() { return c.isOpen(); }
            @Override public void close() { c.close(); }
            @Override public java.security.PublicKey peerKey() { return c.peerKey(); }

            @Override
            public void send(Frame frame) {
                if (frame.header().hasPush() || frame.header().hasRingToken()) hold();
                c.send(frame);
            }
        };
    }

    private void hold() {
        long until = System.nanoTime() + delayNanos;
        for (long left = delayNanos; left > 0; left = until - System.nanoTime()) LockSupport.parkNanos(left);
    }

    @Override
    public void close() {
        inner.close();
    }
}

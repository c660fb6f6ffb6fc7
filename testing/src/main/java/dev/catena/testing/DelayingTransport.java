package dev.catena.testing;

import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.Transport;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * A slow server's transport: every push and ring token it sends to a peer is held {@code delay} on the
 * sending thread before it is handed on, as a server that dawdles between its compute and its push
 * would. What it receives, and what it sends to clients, is untouched.
 */
public final class DelayingTransport extends ForwardingTransport {
    private final long delayNanos;

    public DelayingTransport(Transport inner, Duration delay) {
        super(inner);
        this.delayNanos = delay.toNanos();
    }

    @Override
    protected Connection outbound(Connection c) {
        return new DelegatingConnection(c) {
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
}

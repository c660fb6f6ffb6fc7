package dev.catena.testing;

import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;

import java.nio.ByteBuffer;
import java.security.PublicKey;
import java.time.Duration;

/**
 * A transport wrapping another, for the test doubles of faulty servers: everything passes through but what a
 * subclass changes, usually what goes out on the connections it opens ({@link #outbound}).
 */
public abstract class ForwardingTransport implements Transport {
    protected final Transport inner;

    protected ForwardingTransport(Transport inner) {
        this.inner = inner;
    }

    @Override
    public Listener listen(String bindAddress, FrameHandler handler) {
        return inner.listen(bindAddress, handler);
    }

    @Override
    public final Connection connect(String address, FrameHandler handler, Duration timeout) {
        return connect(address, handler, timeout, null);
    }

    @Override
    public final Connection connect(String address, FrameHandler handler, Duration timeout, PublicKey expectedPeerKey) {
        return outbound(inner.connect(address, handler, timeout, expectedPeerKey));
    }

    /** What this transport makes of a connection it opened: {@code c} itself unless a subclass wraps it. */
    protected Connection outbound(Connection c) {
        return c;
    }

    @Override
    public void close() {
        inner.close();
    }

    /** The payload digest PROTOCOL.md defines (SHA-256 of the payload bytes), as a lying sender recomputes it. */
    protected static byte[] sha256(ByteBuffer payload) {
        try {
            var sha = java.security.MessageDigest.getInstance("SHA-256");
            sha.update(payload.duplicate());
            return sha.digest();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** A connection passing everything through but what a subclass changes (at least {@link #send}). */
    protected abstract static class DelegatingConnection implements Connection {
        protected final Connection c;

        protected DelegatingConnection(Connection c) {
            this.c = c;
        }

        @Override public String remoteAddress() { return c.remoteAddress(); }
        @Override public boolean isOpen() { return c.isOpen(); }
        @Override public void close() { c.close(); }
        @Override public PublicKey peerKey() { return c.peerKey(); }
    }
}

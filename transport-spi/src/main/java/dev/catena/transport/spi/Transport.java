package dev.catena.transport.spi;

import java.time.Duration;

/** A transport instance: its threads and sockets. Thread-safe; close releases everything. */
public interface Transport extends AutoCloseable {

    /**
     * Listens on {@code bindAddress} ({@code host:port}, port 0 for any; or the transport's own
     * scheme, e.g. {@code memory:0}); every accepted connection reports to {@code handler}, one
     * connection's callbacks never running concurrently.
     *
     * @throws TransportException when the address cannot be bound (e.g. in use)
     */
    Listener listen(String bindAddress, FrameHandler handler);

    /**
     * Connects to {@code address} ({@code host:port}), waiting at most {@code timeout}. Blocks, so it
     * is refused on the transport's own threads (from a handler). {@code handler} may see frames
     * before this returns.
     *
     * @throws TransportException    when the peer cannot be reached in time; the message names the address
     * @throws IllegalStateException when called from one of this transport's handlers
     */
    Connection connect(String address, FrameHandler handler, Duration timeout);

    /**
     * As {@link #connect(String, FrameHandler, Duration)}; with TLS, the server's certificate is also
     * accepted when its key is {@code expectedPeerKey} (the key a client was told the peer has), besides
     * the configured trusted certificates. Over TLS it returns once the handshake completed.
     *
     * @throws TransportException also when the TLS handshake fails; the message says why (e.g. whose key
     *                            was not trusted)
     */
    default Connection connect(String address, FrameHandler handler, Duration timeout, java.security.PublicKey expectedPeerKey) {
        return connect(address, handler, timeout);
    }

    /** Counters over every connection of this transport; {@link TransportStats#NONE} if it keeps none. */
    default TransportStats stats() {
        return TransportStats.NONE;
    }

    /**
     * Bytes of partly received frames held now over all connections, bounded by
     * {@link TransportConfig#inboundBudgetBytes()} (0 for a transport that never holds partial frames).
     */
    default long inboundBytesBuffered() {
        return 0;
    }

    /**
     * Closes every listener and connection (their handlers see {@code onClose}) and stops the
     * transport's threads, waiting a bounded time (no wait when called from one of its handlers).
     * Idempotent.
     */
    @Override
    void close();
}

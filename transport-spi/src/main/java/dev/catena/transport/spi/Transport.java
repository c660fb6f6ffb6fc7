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

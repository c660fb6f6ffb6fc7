package dev.catena.transport.spi;

/** A bidirectional, ordered frame pipe to one peer. Thread-safe. */
public interface Connection extends AutoCloseable {

    /** The peer's address, {@code host:port} (or the transport's own scheme). */
    String remoteAddress();

    /**
     * Queues {@code frame} for sending and returns at once: pushes are fire-and-forget, and a slow
     * peer never blocks the caller. Frames on one connection arrive in the order sent (frames sent
     * concurrently from several threads, in some order). Never throws for a closed or failing
     * connection; the frame is then dropped and counted ({@link Transport#stats()}):
     * <ul>
     *   <li>the connection is closed (or closes before the frame is written);</li>
     *   <li>the peer reads too slowly: {@link TransportConfig#sendQueueLimitBytes()} are already
     *       queued. Whole frames are dropped, the connection stays open, and later frames still
     *       arrive in order, so a receiver may see gaps (a request then times out);</li>
     *   <li>the frame is longer than {@link TransportConfig#maxFrameBytes()}: the connection is
     *       also closed, with a cause, as the peer would have done.</li>
     * </ul>
     */
    void send(Frame frame);

    boolean isOpen();

    /**
     * The public key of the certificate the peer presented in the TLS handshake, once it completed;
     * null over plain TCP, or when the peer presented none (a client without an identity).
     */
    default java.security.PublicKey peerKey() {
        return null;
    }

    /**
     * Closes the connection; queued frames may be dropped. Idempotent. Both sides' handlers then see
     * {@code onClose}, once each.
     */
    @Override
    void close();
}

package dev.catena.transport.spi;

/** Receives a connection's frames, in the order they were sent, one at a time per connection. */
public interface FrameHandler {

    /**
     * A frame arrived. Must not block for long: it holds up the connection's later frames (and, for
     * a transport with event loops, other connections). The payload is valid only until this
     * returns. An exception thrown here is logged and closes this connection, with it as the cause.
     */
    void onFrame(Connection connection, Frame frame);

    /**
     * The largest frame, as its length prefix counts it ({@link Frame#frameLength()}), this handler
     * accepts on {@code connection} now. The transport asks at each frame's length prefix, before it
     * buffers a byte of the body, and closes the connection (with a cause, counted) on a larger one;
     * it never allows more than {@link TransportConfig#maxFrameBytes()}. This is how a server lets
     * its protocol state, not unauthenticated bytes, decide what it buffers. Called on the
     * connection's thread; must be cheap.
     */
    default long maxInboundFrameBytes(Connection connection) {
        return Long.MAX_VALUE;
    }

    /** A listener accepted {@code connection} (server side only). */
    default void onOpen(Connection connection) {
    }

    /**
     * The connection closed: by either side, by a network failure, or because the peer sent a
     * malformed or oversize frame ({@code cause} then says which; {@code null} for an orderly close).
     * Called once, after the connection's last {@code onFrame}, on both sides.
     */
    default void onClose(Connection connection, Throwable cause) {
    }
}

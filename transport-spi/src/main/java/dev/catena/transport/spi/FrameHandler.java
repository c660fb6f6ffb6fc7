package dev.catena.transport.spi;

/** Receives a connection's frames, in the order they were sent, one at a time per connection. */
public interface FrameHandler {

    /**
     * A frame arrived. Must not block for long: it holds up the connection's later frames (and, for
     * a transport with event loops, other connections). The payload is valid only until this
     * returns. An exception thrown here is logged and closes this connection, with it as the cause.
     */
    void onFrame(Connection connection, Frame frame);

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

package dev.catena.transport.spi;

/**
 * A transport's counters since it was created, over all its connections. Bytes are wire bytes
 * ({@link Frame#wireBytes()}).
 *
 * @param framesSent         frames handed to the peer (written to the socket; for the memory transport, delivered)
 * @param framesReceived     frames delivered to a handler
 * @param framesDropped      frames sent but never handed to the peer: the connection was closed, the frame was
 *                           over {@code maxFrameBytes}, or the peer was too slow (see {@link Connection#send})
 * @param framesRefused      inbound frames refused at their length prefix (over the connection's limit)
 * @param connectionsRefused connections closed to bound memory: at accept (caps), over the inbound
 *                           budget, or too slow (timeouts)
 */
public record TransportStats(long framesSent, long bytesSent, long framesReceived, long bytesReceived,
                             long framesDropped, long bytesDropped, long framesRefused, long connectionsRefused) {
    public static final TransportStats NONE = new TransportStats(0, 0, 0, 0, 0, 0, 0, 0);

    public TransportStats(long framesSent, long bytesSent, long framesReceived, long bytesReceived,
                          long framesDropped, long bytesDropped) {
        this(framesSent, bytesSent, framesReceived, bytesReceived, framesDropped, bytesDropped, 0, 0);
    }
}

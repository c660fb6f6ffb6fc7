package dev.catena.transport.spi;

import java.time.Duration;
import java.util.Objects;

/**
 * @param maxFrameBytes            largest frame accepted or sent, as its length prefix counts it
 *                                 ({@link Frame#frameLength()}: everything after that prefix). A peer that
 *                                 announces a larger one is disconnected before the frame is read; sending
 *                                 one closes the connection locally. A handler may allow less per
 *                                 connection ({@link FrameHandler#maxInboundFrameBytes}).
 * @param ioThreads                event-loop threads (0: the transport's default; the memory transport has none)
 * @param inboundBudgetBytes       bytes of partly received frames all connections of the transport may hold
 *                                 together; past it the connection holding the most is closed
 * @param helloTimeout             an accepted connection must deliver its first frame within this
 * @param frameTimeout             a frame, once its first byte arrived, must arrive whole within this
 * @param maxConnections           accepted connections open at once over all listeners (0: no cap)
 * @param maxConnectionsPerAddress accepted connections open at once from one remote host (0: no cap)
 * @param tls                      TLS 1.3 on every connection, listened or connected; null: plain TCP. A
 *                                 transport that cannot do TLS refuses to be created with it.
 */
public record TransportConfig(int maxFrameBytes, int ioThreads, long inboundBudgetBytes, Duration helloTimeout,
                              Duration frameTimeout, int maxConnections, int maxConnectionsPerAddress, TlsConfig tls) {
    /** 64 MiB: room for a 512-token prefill at hidden size 8192 in f32 (16 MiB) and more. */
    public static final int DEFAULT_MAX_FRAME_BYTES = 64 << 20;

    /** Floor of {@link #sendQueueLimitBytes()}: 256 decode steps of 32 KiB. */
    public static final long MIN_SEND_QUEUE_BYTES = 8L << 20;

    public static final long DEFAULT_INBOUND_BUDGET_BYTES = 256L << 20;
    public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(10);

    public TransportConfig {
        if (maxFrameBytes < 1024) {
            throw new IllegalArgumentException("maxFrameBytes must be >= 1024, got " + maxFrameBytes);
        }
        if (ioThreads < 0) {
            throw new IllegalArgumentException("ioThreads must be >= 0, got " + ioThreads);
        }
        if (inboundBudgetBytes < maxFrameBytes + 4L) { // else one honest maximal frame could never arrive
            throw new IllegalArgumentException("inboundBudgetBytes must be >= maxFrameBytes + 4, got " + inboundBudgetBytes);
        }
        Objects.requireNonNull(helloTimeout, "helloTimeout");
        Objects.requireNonNull(frameTimeout, "frameTimeout");
        if (helloTimeout.toMillis() < 1 || frameTimeout.toMillis() < 1) {
            throw new IllegalArgumentException("timeouts must be >= 1 ms, got " + helloTimeout + " and " + frameTimeout);
        }
        if (maxConnections < 0 || maxConnectionsPerAddress < 0) {
            throw new IllegalArgumentException("connection caps must be >= 0 (0: none), got "
                    + maxConnections + " and " + maxConnectionsPerAddress);
        }
    }

    /** Plain TCP. */
    public TransportConfig(int maxFrameBytes, int ioThreads, long inboundBudgetBytes, Duration helloTimeout,
                           Duration frameTimeout, int maxConnections, int maxConnectionsPerAddress) {
        this(maxFrameBytes, ioThreads, inboundBudgetBytes, helloTimeout, frameTimeout, maxConnections, maxConnectionsPerAddress, null);
    }

    /** Default bounds, no connection caps. */
    public TransportConfig(int maxFrameBytes, int ioThreads) {
        this(maxFrameBytes, ioThreads, Math.max(DEFAULT_INBOUND_BUDGET_BYTES, maxFrameBytes + 4L),
                DEFAULT_READ_TIMEOUT, DEFAULT_READ_TIMEOUT, 0, 0);
    }

    public static TransportConfig defaults() {
        return new TransportConfig(DEFAULT_MAX_FRAME_BYTES, 0);
    }

    public TransportConfig withInboundBudgetBytes(long bytes) {
        return new TransportConfig(maxFrameBytes, ioThreads, bytes, helloTimeout, frameTimeout, maxConnections, maxConnectionsPerAddress, tls);
    }

    public TransportConfig withTimeouts(Duration hello, Duration frame) {
        return new TransportConfig(maxFrameBytes, ioThreads, inboundBudgetBytes, hello, frame, maxConnections, maxConnectionsPerAddress, tls);
    }

    public TransportConfig withConnectionCaps(int total, int perAddress) {
        return new TransportConfig(maxFrameBytes, ioThreads, inboundBudgetBytes, helloTimeout, frameTimeout, total, perAddress, tls);
    }

    /** With TLS 1.3 on every connection ({@code null}: plain TCP). */
    public TransportConfig withTls(TlsConfig tls) {
        return new TransportConfig(maxFrameBytes, ioThreads, inboundBudgetBytes, helloTimeout, frameTimeout, maxConnections,
                maxConnectionsPerAddress, tls);
    }

    /**
     * Bytes one connection may hold queued for a peer that reads too slowly. A frame sent while the
     * queue holds this much is dropped and counted (never a partial frame), so a connection holds at
     * most this plus one frame. At least one maximal frame always fits.
     */
    public long sendQueueLimitBytes() {
        return Math.max(MIN_SEND_QUEUE_BYTES, maxFrameBytes);
    }
}

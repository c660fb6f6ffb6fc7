package dev.catena.transport.spi;

/**
 * @param maxFrameBytes largest frame accepted or sent, as its length prefix counts it
 *                      ({@link Frame#frameLength()}: everything after that prefix). A peer that
 *                      announces a larger one is disconnected before the frame is read; sending
 *                      one closes the connection locally.
 * @param ioThreads     event-loop threads (0: the transport's default; the memory transport has none)
 */
public record TransportConfig(int maxFrameBytes, int ioThreads) {
    /** 64 MiB: room for a 512-token prefill at hidden size 8192 in f32 (16 MiB) and more. */
    public static final int DEFAULT_MAX_FRAME_BYTES = 64 << 20;

    /** Floor of {@link #sendQueueLimitBytes()}: 256 decode steps of 32 KiB. */
    public static final long MIN_SEND_QUEUE_BYTES = 8L << 20;

    public TransportConfig {
        if (maxFrameBytes < 1024) {
            throw new IllegalArgumentException("maxFrameBytes must be >= 1024, got " + maxFrameBytes);
        }
        if (ioThreads < 0) {
            throw new IllegalArgumentException("ioThreads must be >= 0, got " + ioThreads);
        }
    }

    public static TransportConfig defaults() {
        return new TransportConfig(DEFAULT_MAX_FRAME_BYTES, 0);
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

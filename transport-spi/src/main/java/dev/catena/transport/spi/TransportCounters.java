package dev.catena.transport.spi;

import java.util.concurrent.atomic.LongAdder;

/** Counters for a transport implementation to keep: each frame ends up either sent or dropped, never both. */
public final class TransportCounters {
    private final LongAdder framesSent = new LongAdder();
    private final LongAdder bytesSent = new LongAdder();
    private final LongAdder framesReceived = new LongAdder();
    private final LongAdder bytesReceived = new LongAdder();
    private final LongAdder framesDropped = new LongAdder();
    private final LongAdder bytesDropped = new LongAdder();
    private final LongAdder framesRefused = new LongAdder();
    private final LongAdder connectionsRefused = new LongAdder();

    public void sent(long wireBytes) {
        framesSent.increment();
        bytesSent.add(wireBytes);
    }

    public void received(long wireBytes) {
        framesReceived.increment();
        bytesReceived.add(wireBytes);
    }

    public void dropped(long wireBytes) {
        framesDropped.increment();
        bytesDropped.add(wireBytes);
    }

    /** An inbound frame refused at its length prefix. */
    public void refusedFrame() {
        framesRefused.increment();
    }

    /** A connection closed to bound memory (caps, budget, timeouts). */
    public void refusedConnection() {
        connectionsRefused.increment();
    }

    public TransportStats snapshot() {
        return new TransportStats(framesSent.sum(), bytesSent.sum(), framesReceived.sum(),
                bytesReceived.sum(), framesDropped.sum(), bytesDropped.sum(), framesRefused.sum(), connectionsRefused.sum());
    }
}

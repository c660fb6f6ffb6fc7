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

    public TransportStats snapshot() {
        return new TransportStats(framesSent.sum(), bytesSent.sum(), framesReceived.sum(),
                bytesReceived.sum(), framesDropped.sum(), bytesDropped.sum());
    }
}

package dev.catena.transport.spi;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One connection's outgoing account, and the rules every transport applies before it queues a
 * frame: a frame on a closed connection is dropped; one over {@code maxFrameBytes} is dropped and
 * fails the connection; one that would queue past {@code sendQueueLimitBytes} (the peer reads too
 * slowly) is dropped while the connection stays. Each dropped frame is counted.
 */
public final class SendQueue {
    private final TransportConfig config;
    private final TransportCounters counters;
    private final AtomicLong queuedBytes = new AtomicLong();

    public SendQueue(TransportConfig config, TransportCounters counters) {
        this.config = config;
        this.counters = counters;
    }

    /**
     * Whether {@code frame} may be queued; if so its wire bytes now count as queued until
     * {@link #sent} or {@link #dropped}. An oversize frame is reported to {@code fail}.
     */
    public boolean admit(Frame frame, boolean open, String remoteAddress, Consumer<TransportException> fail) {
        long wire = frame.wireBytes();
        if (!open) {
            counters.dropped(wire);
            return false;
        }
        int max = config.maxFrameBytes();
        if (frame.frameLength() > max) {
            counters.dropped(wire);
            fail.accept(new TransportException("refused to send a frame of " + frame.frameLength() + " bytes to "
                    + remoteAddress + ": over maxFrameBytes " + max));
            return false;
        }
        if (queuedBytes.getAndAdd(wire) >= config.sendQueueLimitBytes()) {
            queuedBytes.addAndGet(-wire);
            counters.dropped(wire);
            return false;
        }
        return true;
    }

    /** An admitted frame reached the peer (socket or inbox). */
    public void sent(long wireBytes) {
        queuedBytes.addAndGet(-wireBytes);
        counters.sent(wireBytes);
    }

    /** An admitted frame was lost after all (encoding failed, the connection closed). */
    public void dropped(long wireBytes) {
        queuedBytes.addAndGet(-wireBytes);
        counters.dropped(wireBytes);
    }

    /** An admitted frame left the queue without being counted here (the receiving side counts it). */
    public void released(long wireBytes) {
        queuedBytes.addAndGet(-wireBytes);
    }
}

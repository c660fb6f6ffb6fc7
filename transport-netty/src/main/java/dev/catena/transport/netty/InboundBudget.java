package dev.catena.transport.netty;

import dev.catena.transport.spi.TransportCounters;
import dev.catena.transport.spi.TransportException;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes of partly received frames that all connections of one transport hold, against one
 * limit. Past the limit the connection holding the most is closed, then the next, until the total
 * fits: the largest holder is the likeliest attacker, and closing it frees the most at once.
 * Invariant: {@code total} is the sum of every holder's {@code charged}, since each change to a
 * holder's charge is added to the total by the same exchange.
 */
final class InboundBudget {
    private final long limit;
    private final TransportCounters counters;
    private final AtomicLong total = new AtomicLong();
    private final Set<FrameSplitter> holders = ConcurrentHashMap.newKeySet();

    InboundBudget(long limit, TransportCounters counters) {
        this.limit = limit;
        this.counters = counters;
    }

    long total() {
        return total.get();
    }

    /** {@code splitter} holds {@code held} bytes now; called on its event loop. */
    void hold(FrameSplitter splitter, long held) {
        if (splitter.evicted) {
            return;
        }
        total.addAndGet(held - splitter.charged.getAndSet(held));
        if (held > 0) {
            holders.add(splitter);
        } else {
            holders.remove(splitter);
        }
        if (splitter.evicted) { // evicted meanwhile by another loop: take back what was just charged
            release(splitter);
            return;
        }
        while (total.get() > limit && evictLargest()) {
            // each round frees the largest holder's bytes
        }
    }

    /** {@code splitter}'s connection is gone: it holds nothing any more. */
    void release(FrameSplitter splitter) {
        holders.remove(splitter);
        total.addAndGet(-splitter.charged.getAndSet(0));
    }

    private boolean evictLargest() {
        FrameSplitter victim = null;
        for (FrameSplitter s : holders) {
            if (!s.evicted && (victim == null || s.charged.get() > victim.charged.get())) {
                victim = s;
            }
        }
        if (victim == null) {
            return false;
        }
        synchronized (victim) { // two loops may pick the same victim: close it once
            if (victim.evicted) {
                return true;
            }
            victim.evicted = true;
        }
        long held = victim.charged.get();
        release(victim);
        counters.refusedConnection();
        victim.connection.fail(new TransportException("closed " + victim.connection.remoteAddress() + ": it held "
                + held + " bytes of partial frames when the transport's inbound budget of " + limit + " bytes ran out"));
        return true;
    }
}

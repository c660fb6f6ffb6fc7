package dev.catena.core.server;

import java.util.HashMap;
import java.util.Map;

/**
 * The sessions that stepped on a span within a window: their next steps are expected soon (e.g. a
 * batch's sessions moving on together through a swarm), so a batch may wait for them. Not
 * thread-safe: the batcher calls it under its lock.
 */
final class ActiveSessions {
    private final long windowNanos;
    private final Map<Object, Long> lastStep = new HashMap<>();

    ActiveSessions(long windowNanos) {
        this.windowNanos = windowNanos;
    }

    /** Notes a step of {@code session} at {@code now}. */
    void stepped(Object session, long now) {
        lastStep.put(session, now);
    }

    /** Sessions that stepped within the window before {@code now}; forgets the others (closed sessions go too). */
    int count(long now) {
        if (lastStep.size() > 1) {
            lastStep.values().removeIf(t -> now - t > windowNanos);
        }
        return lastStep.size();
    }
}

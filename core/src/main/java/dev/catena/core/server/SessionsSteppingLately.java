package dev.catena.core.server;

import dev.catena.api.spi.SpanSession;

import java.util.HashMap;

import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;

/**
 * The sessions that stepped lately on a span, and how many of them a batch waits for ({@link StepBatcher}):
 * a batch that split on its way through a swarm (its steps reached this server over more than the convoy
 * wait) is waited for whole again, not as the fragment the last batch held. Not thread-safe: the
 * batcher's lock guards it.
 */
final class SessionsSteppingLately {
    /** A session steps lately when it stepped within this many of the last compute's time (at most 1 s). */
    static final int RECENT_COMPUTES = 8;

    private final HashMap<SpanSession, Long> lastStep = new HashMap<>();
    private final int maxBatch;
    private int recent = 1;
    /**
     * The most of {@link #recent} a batch waits for: what the last wait that fell short gathered, doubled
     * by each wait that got its batch whole. Sessions that step but never arrive together (too far apart)
     * then run at once again, not after a wait every step.
     */
    private int cap;

    SessionsSteppingLately(int maxBatch) {
        this.maxBatch = maxBatch;
        this.cap = maxBatch;
    }

    /** Notes {@code session}'s step, forgetting the sessions that have not stepped lately. */
    void stepped(SpanSession session, long lastComputeNanos) {
        long now = System.nanoTime();
        if (lastStep.size() >= 4 * maxBatch) {
            lastStep.clear(); // many sessions stepping: the target is maxBatch anyway; keeps the scan short
        }
        lastStep.put(session, now);
        long window = Math.clamp(RECENT_COMPUTES * lastComputeNanos, MILLISECONDS.toNanos(1), SECONDS.toNanos(1));
        lastStep.values().removeIf(t -> now - t > window);
        recent = lastStep.size();
    }

    /** The sessions that stepped lately, whatever the waits for them gathered. */
    int recent() {
        return recent;
    }

    /** How many steps a batch waits for on their account. */
    int toWaitFor() {
        return Math.min(recent, cap);
    }

    /** A wait for {@code target} steps ended with {@code gathered}. */
    void waited(int target, int gathered) {
        cap = gathered < target ? gathered : Math.min(maxBatch, 2 * cap);
    }
}

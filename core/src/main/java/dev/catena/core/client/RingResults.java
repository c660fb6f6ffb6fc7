package dev.catena.core.client;

import java.util.HashMap;
import java.util.Map;

/**
 * Ring mode: results of steps the servers ran on their own, kept by hop and position until the
 * client verifies that step. Only the current epoch's (the steps after the client's last own step)
 * and only within the window are kept, so a server cannot make the client hold more.
 */
final class RingResults {
    private final Map<HopSession, Map<Integer, ServerLink.Received>> kept = new HashMap<>();

    /**
     * Keeps a result of the epoch that {@code epochBase} (the client's last own step) opened, at a
     * position in {@code [from, from + window]}; drops anything else.
     */
    void keep(HopSession hop, long epochBase, ServerLink.Received received, int from, int window) {
        if (!received.header().hasResult()) return;
        var r = received.header().getResult();
        if (r.getStep() <= epochBase || (r.getStep() >>> 32) != (epochBase >>> 32)) return; // another epoch's
        if (from < 0 || r.getPosition() < from || r.getPosition() > (long) from + window) return;
        kept.computeIfAbsent(hop, h -> new HashMap<>()).put(r.getPosition(), received);
    }

    /** The result kept for {@code hop} at {@code position}, removed; null if none. */
    ServerLink.Received take(HopSession hop, int position) {
        var byPosition = kept.get(hop);
        return byPosition == null ? null : byPosition.remove(position);
    }

    void clear() {
        kept.clear();
    }
}

package dev.catena.core.server;

import java.util.HashMap;
import java.util.Map;

/**
 * How many sessions each client may still open: {@link #BURST} at once, refilled at {@link #PER_SECOND}
 * (a token bucket per client), so that a flood of opens over many connections is refused before any KV
 * is touched (issue 14's attack suite found the churn of admitted opens and closes slowing honest steps
 * 30-fold). Not thread-safe: {@link SessionTable} holds its lock.
 */
final class OpenAllowances {
    static final int BURST = 128;
    static final double PER_SECOND = 32;
    /** Clients remembered before those whose allowance is whole again are forgotten. */
    private static final int REMEMBERED = 4096;

    /** Per client, the opens it may still make and when that was computed. */
    private final Map<String, double[]> byClient = new HashMap<>();

    /** Whether {@code client} may open a session now (its allowance refilled to {@code now}). */
    boolean allows(String client, long now) {
        return refilled(client, now)[0] >= 1;
    }

    /** Takes one open from {@code client}'s allowance (after {@link #allows}, when the session is admitted). */
    void take(String client, long now) {
        refilled(client, now)[0] -= 1;
    }

    private double[] refilled(String client, long now) {
        if (byClient.size() > REMEMBERED) {
            byClient.values().removeIf(a -> a[0] + (now - a[1]) / 1e9 * PER_SECOND >= BURST);
        }
        double[] a = byClient.computeIfAbsent(client, k -> new double[]{BURST, now});
        a[0] = Math.min(BURST, a[0] + (now - a[1]) / 1e9 * PER_SECOND);
        a[1] = now;
        return a;
    }
}

package dev.catena.core.server;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * How many sessions clients may still open, as token buckets refilled with time, so that a flood of
 * opens is refused before any KV is touched (issue 14's attack suite found the churn of admitted opens
 * and closes slowing honest steps 30-fold):
 * <ul>
 * <li>each client {@link #BURST} at once, then {@link #PER_SECOND};</li>
 * <li>and all newcomers together {@link #NEWCOMERS_BURST}, then {@link #NEWCOMERS_PER_SECOND}. A newcomer is
 * a client none of whose sessions here was stepped in the last {@link #KNOWN_FOR}. A flood from many hosts
 * then costs a server a bounded number of admissions a second however many hosts it has (the suite's
 * open flood, 100 hosts a server, had some 800 sessions a second admitted and freed by each), while a
 * client whose sessions do work keeps its own allowance. The bound is on clients that do no work: hosts
 * that each step a session first are back under their own allowances, and make the server compute.</li>
 * </ul>
 * Not thread-safe: {@link SessionTable} holds its lock.
 */
final class OpenAllowances {
    static final int BURST = 128;
    static final double PER_SECOND = 32;
    static final int NEWCOMERS_BURST = 128;
    static final double NEWCOMERS_PER_SECOND = 64;
    static final Duration KNOWN_FOR = Duration.ofMinutes(10);
    /** Clients whose allowance is remembered before those whose allowance is whole again are forgotten. */
    private static final int REMEMBERED = 4096;
    /** Known clients remembered before those known no longer are forgotten (an entry is some 150-200 bytes). */
    private static final int KNOWN_REMEMBERED = 1 << 14;

    /** Per client, the opens it may still make and when that was computed. */
    private final Map<String, double[]> byClient = new HashMap<>();
    /** The opens newcomers may still make together, and when that was computed. */
    private final double[] newcomers;
    /** Per client, when a step of one of its sessions here last made it known ({@link SessionTable#stepped}). */
    private final Map<String, Long> steppedAt = new HashMap<>();

    OpenAllowances(long now) {
        newcomers = new double[]{NEWCOMERS_BURST, now};
    }

    /** Why {@code client} may not open a session now, or null when it may (the allowances refilled to {@code now}). */
    String refusal(String client, long now) {
        if (refilled(byClient(client, now), BURST, PER_SECOND, now) < 1) {
            return client + " opened more than " + BURST + " sessions at " + (int) PER_SECOND + " per second";
        }
        if (!known(client, now) && refilled(newcomers, NEWCOMERS_BURST, NEWCOMERS_PER_SECOND, now) < 1) {
            return "this server admits " + (int) NEWCOMERS_PER_SECOND + " sessions a second (after a burst of " + NEWCOMERS_BURST
                    + ") from clients with no session stepped here lately, and " + client + " is one; that allowance is spent";
        }
        return null;
    }

    /** Takes one open from {@code client}'s allowances (after {@link #refusal} said none, when the session is admitted). */
    void take(String client, long now) {
        byClient(client, now)[0] -= 1;
        if (!known(client, now)) newcomers[0] -= 1;
    }

    /** {@code client} stepped a session: it is known, not a newcomer, for {@link #KNOWN_FOR} from {@code now}. */
    void stepped(String client, long now) {
        if (steppedAt.size() > KNOWN_REMEMBERED) {
            steppedAt.values().removeIf(at -> now - at > KNOWN_FOR.toNanos());
            if (steppedAt.size() > KNOWN_REMEMBERED) steppedAt.clear(); // all known at once: newcomers again, memory bounded
        }
        steppedAt.put(client, now);
    }

    private boolean known(String client, long now) {
        Long at = steppedAt.get(client);
        return at != null && now - at <= KNOWN_FOR.toNanos();
    }

    private double[] byClient(String client, long now) {
        if (byClient.size() > REMEMBERED) {
            byClient.values().removeIf(a -> a[0] + (now - a[1]) / 1e9 * PER_SECOND >= BURST);
        }
        return byClient.computeIfAbsent(client, k -> new double[]{BURST, now});
    }

    /** Refills {@code bucket} (opens left, when) to {@code now}, returning the opens left. */
    private static double refilled(double[] bucket, int burst, double perSecond, long now) {
        bucket[0] = Math.min(burst, bucket[0] + (now - bucket[1]) / 1e9 * perSecond);
        bucket[1] = now;
        return bucket[0];
    }
}

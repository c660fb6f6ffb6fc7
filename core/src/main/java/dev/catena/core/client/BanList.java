package dev.catena.core.client;

import dev.catena.core.SwarmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Servers a session avoids after they failed: each failure of the same server doubles its ban, up
 * to a maximum. Bans are a preference, not a rule: when no route avoids them all they give way.
 * Not thread-safe: one session's failovers run one at a time.
 */
final class BanList {
    private static final System.Logger LOG = System.getLogger(BanList.class.getName());

    private final Duration base;
    private final Duration max;
    private final Map<String, Long> bannedUntilNanos = new java.util.concurrent.ConcurrentHashMap<>(); // read by spot checks too
    private final Map<String, Integer> strikes = new HashMap<>();

    /** @param base the first ban; each further failure of the same server doubles it, up to {@code max} */
    BanList(Duration base, Duration max) {
        this.base = base;
        this.max = max;
    }

    void ban(String server) {
        int k = strikes.merge(server, 1, Integer::sum);
        long nanos = Math.min(max.toNanos(), base.toNanos() << Math.min(20, k - 1));
        bannedUntilNanos.put(server, System.nanoTime() + nanos);
    }

    /** The servers banned now. */
    Set<String> banned() {
        long now = System.nanoTime();
        Set<String> out = new HashSet<>();
        bannedUntilNanos.forEach((a, until) -> {
            if (until - now > 0) out.add(a);
        });
        return out;
    }

    /**
     * A route from {@code plan} without the {@code excluded} servers; when there is none (e.g. every
     * server of some block failed once after transient resets), excluded servers are allowed back one
     * at a time, fewest failures first, then the ban ending soonest.
     *
     * @throws SwarmException.NoRoute when no route exists even with all of them back
     */
    List<Hop> giveWay(Set<String> excluded, Function<Set<String>, List<Hop>> plan) {
        Set<String> without = new HashSet<>(excluded);
        List<String> allowBack = new ArrayList<>(without);
        allowBack.sort(Comparator.<String>comparingInt(a -> strikes.getOrDefault(a, 0))
                .thenComparingLong(a -> bannedUntilNanos.getOrDefault(a, 0L)));
        while (true) {
            try {
                return plan.apply(without);
            } catch (SwarmException.NoRoute noRoute) {
                if (allowBack.isEmpty()) throw noRoute;
                String retry = allowBack.removeFirst();
                without.remove(retry);
                LOG.log(System.Logger.Level.INFO, "no route without banned servers; trying {0} again", retry);
            }
        }
    }
}

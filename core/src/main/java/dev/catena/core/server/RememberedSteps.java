package dev.catena.core.server;

import dev.catena.transport.proto.InputSource;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A session's last computed steps, by step number: what each was computed on, to check late copies and pushes
 * against. Used on the session's executor only.
 */
final class RememberedSteps {
    /** How many computed steps are remembered. */
    static final int KEPT = 8;

    /** A computed step: its position, its input's digest, where the input came from, and the input. */
    record Done(int position, byte[] digest, InputSource source, String sender, StepInput input) {
    }

    private final Map<Long, Done> done = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Done> eldest) {
            return size() > KEPT;
        }
    };

    /** Step {@code step}, or null when it was not computed or is forgotten. */
    Done get(long step) {
        return done.get(step);
    }

    void put(long step, Done d) {
        done.put(step, d);
    }

    /** Forgets {@code step} and every step after it (they are computed again). */
    void forgetFrom(long step) {
        done.keySet().removeIf(s -> s >= step);
    }

    /** Whether {@code step} is older than every step remembered (none remembered: false). */
    boolean olderThanAll(long step) {
        return !done.isEmpty() && step < done.keySet().iterator().next();
    }
}

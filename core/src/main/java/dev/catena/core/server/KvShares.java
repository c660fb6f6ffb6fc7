package dev.catena.core.server;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * A server's KV bytes held per client, and the clients refused for want of KV lately: while other clients
 * hold or wait for KV, one may hold at most the budget divided among them. Not thread-safe:
 * {@link SessionTable} holds its lock.
 */
final class KvShares {
    /** A client refused for want of KV counts as waiting this long, so that holders leave it a share. */
    static final Duration WAITING = Duration.ofSeconds(10);

    /** The part of the budget one client may hold, and among how many clients the budget is divided. */
    record Share(long bytes, int clients) {
    }

    private final long budgetBytes;
    private final Map<String, Long> held = new HashMap<>();
    /** Clients refused for want of KV, with when. */
    private final Map<String, Long> waiting = new HashMap<>();

    KvShares(long budgetBytes) {
        this.budgetBytes = budgetBytes;
    }

    /** {@code client}'s share at {@code now}: among the clients holding KV, those waiting for it, and itself. */
    Share shareOf(String client, long now) {
        waiting.values().removeIf(since -> now - since > WAITING.toNanos());
        Set<String> clients = new HashSet<>(held.keySet());
        clients.addAll(waiting.keySet());
        clients.add(client);
        return new Share(budgetBytes / clients.size(), clients.size());
    }

    /** KV bytes {@code client} holds. */
    long held(String client) {
        return held.getOrDefault(client, 0L);
    }

    /** A copy of the bytes held per client. */
    Map<String, Long> heldByClient() {
        return new HashMap<>(held);
    }

    /** {@code client} was refused for want of KV at {@code now}: it counts among the clients sharing the budget for a while. */
    void refused(String client, long now) {
        waiting.put(client, now);
    }

    /** {@code client} was admitted: it waits no more. */
    void admitted(String client) {
        waiting.remove(client);
    }

    /** Adds {@code bytes} (negative: frees them) to what {@code client} holds; a client holding nothing is forgotten. */
    void add(String client, long bytes) {
        held.merge(client, bytes, (a, b) -> a + b == 0 ? null : a + b);
    }
}

package dev.catena.core.server;

import dev.catena.core.protocol.Protocol;
import dev.catena.transport.spi.Connection;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * How a server refuses opens it will not admit, so that a flood of them costs it little: a connection
 * refused {@link #MAX_REFUSED_OPENS} times is closed, and a client over its open allowance gets its
 * refusal, and the close, only after {@link #TARPIT_MS}, ignored meanwhile.
 */
final class OpenRefusals {
    /**
     * Opens refused on one connection before it is closed: an honest client fails over after a
     * refusal, while each of a flood's refusals costs an answer (the attack suite's open flood asked
     * 80 times per connection).
     */
    static final int MAX_REFUSED_OPENS = 8;
    /**
     * How long a client over its open allowance waits for its refusal, and the close after it. Answered at
     * once, a flood comes back at once: the attack suite's open flood reconnected hundreds of times a second,
     * each time costing a handshake and a Hello signature, CPU that the honest sessions lost.
     */
    static final long TARPIT_MS = 250;
    private static final ScheduledExecutorService TARPIT = Executors
            .newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("catena-tarpit").factory());

    private final ServerCounters counters;
    private final Map<Connection, Integer> refused = new ConcurrentHashMap<>();
    /** Connections waiting for their refusal: nothing more they send is read into work. */
    private final Set<Connection> tarpitted = ConcurrentHashMap.newKeySet();

    OpenRefusals(ServerCounters counters) {
        this.counters = counters;
    }

    /** Whether {@code c} waits for its refusal: whatever it sends is ignored. */
    boolean ignores(Connection c) {
        return tarpitted.contains(c);
    }

    /** Answers {@code from}'s open {@code requestId} with {@code why}, at once or after the tarpit, closing where due. */
    void refuse(Connection from, long requestId, SessionRefused why) {
        if (why.closeConnection) {
            tarpit(from, requestId, why);
            return;
        }
        reject(from, requestId, why);
        if (refused.merge(from, 1, Integer::sum) >= MAX_REFUSED_OPENS) from.close();
    }

    void forget(Connection c) {
        refused.remove(c);
        tarpitted.remove(c);
    }

    private void tarpit(Connection from, long requestId, SessionRefused why) {
        if (!tarpitted.add(from)) return;
        TARPIT.schedule(() -> {
            reject(from, requestId, why);
            from.close();
            tarpitted.remove(from);
        }, TARPIT_MS, TimeUnit.MILLISECONDS);
    }

    private void reject(Connection to, long requestId, SessionRefused why) {
        counters.errors.incrementAndGet();
        to.send(Protocol.error(requestId, why.code, why.getMessage()));
    }
}

package dev.catena.core.client;

import dev.catena.core.SwarmException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BiConsumer;

/**
 * Round trips to servers in ms, to plan routes by latency: the first one measured for each server
 * is kept. Thread-safe; one per client, shared by its sessions.
 */
final class RttProbe {
    private static final System.Logger LOG = System.getLogger(RttProbe.class.getName());
    /** A server that cannot answer an info request in this long is not one to route through. */
    private static final Duration PING_TIMEOUT = Duration.ofSeconds(2);

    private final Map<String, Double> millis = new ConcurrentHashMap<>();
    private final BiConsumer<String, Duration> ping;
    private final Duration requestTimeout;

    /**
     * @param ping asks a server something and {@link #record}s the round trip; throws when it cannot
     *             reach the server or the server does not answer within the given time
     */
    RttProbe(BiConsumer<String, Duration> ping, Duration requestTimeout) {
        this.ping = ping;
        this.requestTimeout = requestTimeout;
    }

    /** Keeps {@code roundTrip} as the server's unless one is already known. */
    void record(String address, double roundTrip) {
        millis.putIfAbsent(address, roundTrip);
    }

    /** The round trips measured so far, ms by address. */
    Map<String, Double> known() {
        return Map.copyOf(millis);
    }

    /** The round trip to {@code address}, pinging it (giving up after {@code timeout}) when not measured yet. */
    double of(String address, Duration timeout) {
        Double known = millis.get(address);
        if (known != null) {
            return known;
        }
        ping.accept(address, timeout);
        return millis.get(address);
    }

    /**
     * Round trips to {@code addresses}, pinging all at once those not measured yet, each given at most
     * {@link #PING_TIMEOUT}: a hung server in the directory costs that once, not a request timeout per
     * server. Servers missing from the result did not answer.
     */
    Map<String, Double> measure(List<String> addresses) {
        Map<String, Double> known = known();
        Map<String, Double> rtts = new HashMap<>();
        Map<String, Future<Double>> pings = new HashMap<>();
        Duration timeout = PING_TIMEOUT.compareTo(requestTimeout) < 0 ? PING_TIMEOUT : requestTimeout;
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (String a : addresses) {
                if (known.containsKey(a)) rtts.put(a, known.get(a));
                else pings.put(a, pool.submit(() -> of(a, timeout)));
            }
            for (var p : pings.entrySet()) {
                try {
                    rtts.put(p.getKey(), p.getValue().get());
                } catch (ExecutionException unreachable) {
                    LOG.log(System.Logger.Level.INFO, "{0} did not answer a ping: {1}", p.getKey(), unreachable.getCause().getMessage());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new SwarmException("interrupted while measuring round trips");
                }
            }
        }
        return rtts;
    }
}

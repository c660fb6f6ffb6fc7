package dev.catena.core;

import java.util.List;

/**
 * A server that failed during a generation, and what replaced it.
 *
 * @param server       the failed server's address
 * @param reason       what went wrong (timeout, connection lost, error reply, damaged data)
 * @param replacements the hops that took over its blocks; empty when the route was planned anew
 * @param millis       how long the step took, recovery included
 */
public record Failover(String server, String reason, List<RouteHop> replacements, double millis) {
    /** Keeps an unmodifiable copy of the replacements. */
    public Failover {
        replacements = List.copyOf(replacements);
    }
}

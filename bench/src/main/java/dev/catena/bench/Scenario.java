package dev.catena.bench;

import dev.catena.core.client.RemoteSession;

import java.util.List;

/** A swarm benchmark's links: the client's one-way delay to every server, the servers' to each other, and the server counts. */
record Scenario(String name, long clientMs, long peerMs, List<Integer> servers) {

    /** PROTOCOL.md's latency model for one decode step with these links and compute time (all spans together). */
    double formula(int k, RemoteSession.Mode mode, double computeMs) {
        return switch (mode) {
            case PUSH -> clientMs + computeMs + (k - 1) * peerMs + clientMs;
            case RING -> computeMs + k * peerMs; // Σc + Σd(Sk,Sk+1) + d(SN,S1): no client leg
            case RELAY -> k * 2.0 * clientMs + computeMs;
        };
    }
}

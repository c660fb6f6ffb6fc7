package dev.catena.core;

import dev.catena.core.client.RemoteSession;

/** How hidden states travel between the servers of a route. */
public enum Mode {
    /** Each server pushes its output straight to the next one; the client still validates every hop. */
    PUSH,
    /** Every hidden state goes back through the client, which forwards it to the next server. */
    RELAY,
    /**
     * The last server also runs the LM head and a sampler identical to the client's, and sends each
     * token straight to the first server: the client is off the critical path and verifies every step
     * after the fact (digest chain, its own head, its own sampler), rewinding what disagrees. Output is
     * identical to the other modes. The servers run at most the ring window (default 8) steps ahead of
     * the client's verification. A chat session's turns after the first run in push mode.
     */
    RING;

    RemoteSession.Mode internal() {
        return switch (this) {
            case PUSH -> RemoteSession.Mode.PUSH;
            case RELAY -> RemoteSession.Mode.RELAY;
            case RING -> RemoteSession.Mode.RING;
        };
    }
}

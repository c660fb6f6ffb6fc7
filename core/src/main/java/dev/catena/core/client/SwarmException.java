package dev.catena.core.client;

import dev.catena.api.CatenaException;

/** A step or session the swarm could not complete; the message names the server and the reason. */
public final class SwarmException extends CatenaException {
    private final String server;

    public SwarmException(String message) {
        this(message, null, null);
    }

    public SwarmException(String message, Throwable cause) {
        this(message, null, cause);
    }

    /** @param server the server that failed, when one did (the client bans it) */
    public SwarmException(String message, String server, Throwable cause) {
        super(message, cause);
        this.server = server;
    }

    /** The address of the server that failed or refused, or null when none is to blame. */
    public String server() {
        return server;
    }
}

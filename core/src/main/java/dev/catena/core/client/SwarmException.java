package dev.catena.core.client;

import dev.catena.api.CatenaException;

/** A step or session the swarm could not complete; the message names the server and the reason. */
public final class SwarmException extends CatenaException {
    public SwarmException(String message) {
        super(message);
    }

    public SwarmException(String message, Throwable cause) {
        super(message, cause);
    }
}

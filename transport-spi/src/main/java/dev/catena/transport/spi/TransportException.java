package dev.catena.transport.spi;

import dev.catena.api.CatenaException;

/** A connection that could not be made or was lost; the message names the peer. */
public final class TransportException extends CatenaException {
    public TransportException(String message) {
        super(message);
    }

    public TransportException(String message, Throwable cause) {
        super(message, cause);
    }
}

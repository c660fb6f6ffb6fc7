package dev.catena.api;

/** Base of every error Catena reports to its callers; the message says what happened and what to do. */
public class CatenaException extends RuntimeException {
    public CatenaException(String message) {
        super(message);
    }

    public CatenaException(String message, Throwable cause) {
        super(message, cause);
    }
}

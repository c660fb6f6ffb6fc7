package dev.catena.api;

/**
 * A backend or transport that cannot run here: native libraries missing, native access not
 * granted, no provider on the path. The message names the fix (a flag, a dependency, a path).
 */
public final class BackendUnavailableException extends CatenaException {
    public BackendUnavailableException(String message) {
        super(message);
    }

    public BackendUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}

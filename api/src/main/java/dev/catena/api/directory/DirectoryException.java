package dev.catena.api.directory;

import dev.catena.api.CatenaException;

/** A directory could not be reached or answered wrongly; the message names it. */
public class DirectoryException extends CatenaException {
    public DirectoryException(String message) {
        super(message);
    }

    public DirectoryException(String message, Throwable cause) {
        super(message, cause);
    }
}

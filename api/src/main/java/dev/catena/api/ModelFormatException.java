package dev.catena.api;

import java.nio.file.Path;

/** A model file that cannot be used: missing, unreadable, not GGUF, truncated or malformed. */
public final class ModelFormatException extends CatenaException {
    private final Path path;

    public ModelFormatException(Path path, String problem) {
        super(path + ": " + problem);
        this.path = path;
    }

    public Path path() {
        return path;
    }
}

package dev.catena.api;

import java.nio.file.Path;

/** A well-formed model Catena cannot run: its architecture, a weight type, or a feature it uses. */
public final class UnsupportedModelException extends CatenaException {
    public UnsupportedModelException(Path model, String what) {
        super(model + ": " + what);
    }
}

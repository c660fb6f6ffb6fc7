package dev.catena.core;

import dev.catena.core.directory.Directory;
import dev.catena.core.directory.FileDirectory;

import java.net.URI;
import java.nio.file.Path;

/** Directories by URI. */
final class Directories {
    private Directories() {
    }

    /**
     * A {@code file:} URI or a plain path (no scheme): a {@link FileDirectory}.
     *
     * @throws IllegalArgumentException for any other scheme
     */
    static Directory open(URI uri) {
        String scheme = uri.getScheme();
        if (scheme == null) {
            return new FileDirectory(Path.of(uri.getPath()));
        }
        if (scheme.equalsIgnoreCase("file")) {
            return new FileDirectory(uri.isOpaque() ? Path.of(uri.getSchemeSpecificPart()) : Path.of(uri));
        }
        throw new IllegalArgumentException("unsupported directory '" + uri + "': use a file: URI or a path");
    }
}

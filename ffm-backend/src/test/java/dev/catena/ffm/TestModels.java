package dev.catena.ffm;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where tests find the demo model the repository ships ({@code models/}); a missing one fails with the path looked at. */
public final class TestModels {
    private TestModels() {
    }

    /** The repository's {@code models/} folder. */
    public static Path dir() {
        String dir = System.getProperty("catena.models.dir");
        Path p = dir != null ? Path.of(dir) : Path.of("..", "models");
        return p.toAbsolutePath().normalize();
    }

    public static Path stories260K() {
        Path model = dir().resolve("stories260K.gguf");
        if (!Files.isRegularFile(model)) {
            throw new IllegalStateException("test model missing: " + model + " (restore it with: git checkout models/)");
        }
        return model;
    }
}

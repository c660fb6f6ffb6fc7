package dev.catena.ffm;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where tests find ../shared's models; a missing one fails the test with the path it looked at. */
public final class TestModels {
    private TestModels() {
    }

    public static Path shared() {
        String dir = System.getProperty("catena.shared.dir");
        Path p = dir != null ? Path.of(dir) : Path.of("..", "..", "shared");
        return p.toAbsolutePath().normalize();
    }

    public static Path stories260K() {
        Path model = shared().resolve("models").resolve("stories260K.gguf");
        if (!Files.isRegularFile(model)) {
            throw new IllegalStateException("test model missing: " + model + " (../shared/models beside the repository)");
        }
        return model;
    }
}

package dev.catena.bench;

import dev.catena.ffm.testmodel.TestModelCache;
import dev.catena.ffm.testmodel.TestModelMain;

import java.nio.file.Path;

/** Generated benchmark models by preset name (random weights, real shapes), written once into the test-model cache. */
final class Presets {
    private Presets() {
    }

    static java.util.Set<String> names() {
        return TestModelMain.presets().keySet();
    }

    /** @throws IllegalArgumentException naming the presets, for an unknown name */
    static Path model(String preset) {
        var spec = TestModelMain.presets().get(preset);
        if (spec == null) {
            throw new IllegalArgumentException("unknown preset " + preset + " (" + String.join(", ", TestModelMain.presets().keySet()) + ")");
        }
        // Generated once into the cache (minutes for a 1B model), then found there.
        try (var progress = BenchProgress.start("preset " + preset, -1)) {
            Path file = TestModelCache.get(spec.get());
            progress.step("preset " + preset + ": " + file);
            return file;
        }
    }
}

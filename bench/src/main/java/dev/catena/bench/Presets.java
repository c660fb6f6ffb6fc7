package dev.catena.bench;

import dev.catena.ffm.testmodel.ModelSpec;
import dev.catena.ffm.testmodel.TestModelCache;

import java.nio.file.Path;

/** Generated benchmark models by name (random weights, real shapes), written once into the test-model cache. */
final class Presets {
    private Presets() {
    }

    static Path model(String preset) {
        return TestModelCache.get(switch (preset) {
            case "llama32-1b-q8_0" -> ModelSpec.llama32_1B(ModelSpec.WeightType.Q8_0);
            case "llama32-1b-q4_k" -> ModelSpec.llama32_1B(ModelSpec.WeightType.Q4_K);
            default -> throw new IllegalArgumentException("unknown preset " + preset + " (llama32-1b-q8_0, llama32-1b-q4_k)");
        });
    }
}

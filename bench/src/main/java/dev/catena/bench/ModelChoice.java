package dev.catena.bench;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * The model a benchmark runs (a picocli argument group, {@code --model} or {@code --preset}): a GGUF
 * file, a generated model (random weights, real shapes, cached once) or, when neither is given, the
 * demo model the repository ships (the launcher runs from the checkout).
 */
final class ModelChoice {
    @Option(names = "--model", paramLabel = "GGUF", description = "Model file (default: the demo model, models/stories260K.gguf).")
    Path model;

    @Option(names = "--preset", paramLabel = "NAME", completionCandidates = PresetNames.class,
            description = "A generated model (random weights, real shapes), cached once: ${COMPLETION-CANDIDATES}.")
    String preset;

    /** The presets' names, for picocli's completion candidates. */
    static final class PresetNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return Presets.names().iterator();
        }
    }

    /** The model file {@code choice} names (null: nothing given); an unknown preset is a usage error naming the presets. */
    static Path resolve(ModelChoice choice) {
        if (choice != null && choice.preset != null) return Presets.model(choice.preset);
        return choice != null ? choice.model : Path.of("models/stories260K.gguf");
    }
}

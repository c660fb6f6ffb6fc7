package dev.catena.samples.cli;

import dev.catena.core.GenerationRequest;
import picocli.CommandLine.Option;

/** Sampling flags shared by the generating commands (picocli mixin). */
final class SamplingOptions {
    @Option(names = "--greedy", description = "Argmax decoding (ties to the lowest id); ignores the sampling options.")
    boolean greedy;

    @Option(names = "--temp", defaultValue = "0.8") float temperature;
    @Option(names = "--top-k", defaultValue = "40") int topK;
    @Option(names = "--top-p", defaultValue = "0.95") float topP;
    @Option(names = "--min-p", defaultValue = "0.05") float minP;
    @Option(names = "--repeat-penalty", defaultValue = "1.0") float repeatPenalty;
    @Option(names = "--repeat-last-n", defaultValue = "64") int repeatLastN;
    @Option(names = "--seed", defaultValue = "42") long seed;

    /** These options on a request builder. */
    GenerationRequest.Builder apply(GenerationRequest.Builder b) {
        return greedy ? b.greedy()
                : b.temperature(temperature).topK(topK).topP(topP).minP(minP).repeatPenalty(repeatPenalty).repeatLastN(repeatLastN)
                        .seed(seed);
    }
}

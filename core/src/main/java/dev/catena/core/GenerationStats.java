package dev.catena.core;

import java.util.List;

/**
 * Timings and counts of one generation.
 *
 * @param promptTokens    tokens run before the first new one (for a chat turn: only the turn's new tokens)
 * @param generatedTokens tokens generated
 * @param prefillSeconds  from the start to the first token
 * @param tokensPerSecond decode speed after the first token
 * @param stepMillis      wall time of each decode step after the first token
 * @param failovers       servers that failed during the generation and what replaced them (none locally)
 */
public record GenerationStats(int promptTokens, int generatedTokens, double prefillSeconds, double tokensPerSecond,
                              List<Double> stepMillis, List<Failover> failovers) {
    /** Keeps unmodifiable copies of the lists. */
    public GenerationStats {
        stepMillis = List.copyOf(stepMillis);
        failovers = List.copyOf(failovers);
    }
}

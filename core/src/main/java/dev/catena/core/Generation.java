package dev.catena.core;

import java.util.List;

/**
 * The result of one generation.
 *
 * @param promptTokens the token ids run before the first new token (for a chat turn: the turn's own)
 * @param tokens       the generated token ids, every one sampled (those of a stop sequence included,
 *                     an end-of-text token excluded)
 * @param text         the generated text (the continuation, without the prompt), cut before a stop sequence
 * @param finishReason why it ended
 * @param stats        timings and failovers
 * @param logits       per generated token, the logits row {@code [nVocab]} that chose it, when the
 *                     request asked for them ({@link GenerationRequest.Builder#keepLogits()}); else empty
 */
public record Generation(List<Integer> promptTokens, List<Integer> tokens, String text, FinishReason finishReason,
                         GenerationStats stats, List<float[]> logits) {
    /** Keeps unmodifiable copies of the lists. */
    public Generation {
        promptTokens = List.copyOf(promptTokens);
        tokens = List.copyOf(tokens);
        logits = List.copyOf(logits);
    }

    /** The generated token ids as an array. */
    public int[] tokenArray() {
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }
}

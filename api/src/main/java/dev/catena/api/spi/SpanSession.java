package dev.catena.api.spi;

/**
 * One inference session on a span: a KV cache of {@link #maxLength()} tokens and the current
 * length. Hidden states are row-major {@code [n, nEmbd]} float32, one row per token.
 * One caller at a time; {@link #close()} may come from any thread and waits for a running step.
 */
public interface SpanSession extends AutoCloseable {

    /** Tokens currently in the KV cache. */
    int length();

    int maxLength();

    /** Exact bytes of this session's KV cache (allocated at open, freed at close). */
    long kvBytes();

    /**
     * Runs the span's blocks on {@code n} tokens starting at {@code position}: writes their keys and
     * values into the cache and returns their hidden states after the last block.
     * {@code position < length()} truncates to {@code position} first (a re-send).
     *
     * @param hidden  {@code n * nEmbd} floats
     * @throws dev.catena.api.SpanInputException for a wrong size, a position beyond the length or
     *         past maxLength, or non-finite input; the session is unchanged and still usable
     */
    default float[] forward(float[] hidden, int n, int position) {
        return forward(hidden, n, position, false);
    }

    /**
     * As {@link #forward(float[], int, int)}; with {@code lastOnly} it returns only the last token's
     * hidden state {@code [1, nEmbd]}, and the last block skips its feed-forward for the other rows
     * (their keys and values are still cached). For the final span of a chain, whose output only the
     * LM head reads: it is what llama.cpp computes for the rows it outputs.
     */
    float[] forward(float[] hidden, int n, int position, boolean lastOnly);

    /** Forgets every token at {@code position} and after. */
    void truncate(int position);

    @Override
    void close();
}

package dev.catena.api.spi;

import java.util.List;

/**
 * What the client holds of a model: token embeddings, final norm, LM head and the tokenizer.
 * Thread-safe.
 */
public interface ModelHead extends AutoCloseable {

    int nEmbd();

    int nVocab();

    /** Token ids for {@code text}; {@code addSpecial} adds BOS (or whatever the vocabulary's defaults add). */
    int[] tokenize(String text, boolean addSpecial);

    /** The text of {@code tokens}, special tokens left out. */
    String detokenize(int[] tokens);

    /** Whether {@code token} ends a generation (EOS, EOT, ...). */
    boolean isEndOfGeneration(int token);

    /** Hidden states {@code [n, nEmbd]} for tokens. */
    float[] embed(int[] tokens);

    /** Logits {@code [rows.size(), nVocab]}: final norm and LM head applied to the given rows of {@code hidden [n, nEmbd]}. */
    float[] logits(float[] hidden, int n, List<Integer> rows);

    /** A sampler chain with its own state (penalties, RNG); close it when done. */
    Sampler sampler(SamplingParams params);

    @Override
    void close();
}

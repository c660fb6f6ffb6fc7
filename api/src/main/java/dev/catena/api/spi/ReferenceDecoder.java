package dev.catena.api.spi;

/**
 * A whole model run by its native engine's own code (for the ffm backend: llama.cpp's
 * {@code llama_decode}), on one machine. It is the reference Catena's distributed decoding is
 * compared with. Not thread-safe; close it when done.
 */
public interface ReferenceDecoder extends AutoCloseable {

    /** Vocabulary size: the length of every logits row. */
    int nVocab();

    /** Token ids for {@code text}; {@code addSpecial} adds BOS as the engine's defaults do. */
    int[] tokenize(String text, boolean addSpecial);

    /** The text of {@code tokens} as the start of a text: special tokens (BOS) are not rendered. */
    String detokenize(int[] tokens);

    /**
     * Decodes {@code prompt} from an empty context, then generates exactly {@code n} tokens by
     * argmax (ties to the lowest id), without stopping at end-of-generation tokens.
     *
     * @param keepLogits whether to return every step's full logits row
     * @throws IllegalArgumentException when the prompt is empty or prompt and output do not fit the context
     */
    Generation generateGreedy(int[] prompt, int n, boolean keepLogits);

    @Override
    void close();
}

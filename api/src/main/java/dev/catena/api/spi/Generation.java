package dev.catena.api.spi;

/**
 * The output of a greedy generation.
 *
 * @param tokens the generated token ids, prompt excluded
 * @param logits per generated token, the full logits row {@code [nVocab]} that chose it
 *               ({@code logits[i]} chose {@code tokens[i]}); empty when logits were not kept
 */
public record Generation(int[] tokens, float[][] logits) {
    public Generation {
        if (tokens == null || logits == null) {
            throw new IllegalArgumentException("tokens and logits must not be null");
        }
        if (logits.length != 0 && logits.length != tokens.length) {
            throw new IllegalArgumentException(tokens.length + " tokens but " + logits.length + " logits rows");
        }
    }
}

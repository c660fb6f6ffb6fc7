package dev.catena.api.spi;

/**
 * llama.cpp's sampler chain settings. {@code greedy} ignores the rest and takes the argmax
 * (ties to the lowest id).
 *
 * @param topK          0 disables
 * @param topP          1 disables
 * @param minP          0 disables
 * @param repeatPenalty 1 disables; applies over the last {@code repeatLastN} tokens
 */
public record SamplingParams(boolean greedy, float temperature, int topK, float topP, float minP,
                             float repeatPenalty, int repeatLastN, long seed) {

    public static SamplingParams greedyDecoding() {
        return new SamplingParams(true, 0f, 0, 1f, 0f, 1f, 0, 0);
    }
}

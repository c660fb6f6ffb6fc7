package dev.catena.api.spi;

/** Picks the next token from logits; keeps its own state (penalty history, RNG). Not thread-safe. */
public interface Sampler extends AutoCloseable {

    /** Chooses a token from {@code logits [nVocab]} and records it as accepted. */
    int sample(float[] logits);

    /** Records a token the sampler did not choose (e.g. a prompt token) for penalties. */
    void accept(int token);

    /**
     * An independent sampler in this one's exact state (penalty history, RNG), so that a caller can go
     * back to it (ring mode's rewinds). Close it when done.
     *
     * @throws UnsupportedOperationException when the backend cannot copy its samplers
     */
    default Sampler copy() {
        throw new UnsupportedOperationException("this sampler cannot be copied");
    }

    @Override
    void close();
}

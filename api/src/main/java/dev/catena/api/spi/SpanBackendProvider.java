package dev.catena.api.spi;

/** A compute backend for spans of transformer blocks (e.g. llama.cpp's ggml through FFM). */
public abstract class SpanBackendProvider extends Provider {

    /**
     * The backend, initialised on first use.
     *
     * @throws dev.catena.api.BackendUnavailableException when {@link #isAvailable()} is false
     */
    public abstract SpanBackend backend();
}

package dev.catena.api.spi;

import dev.catena.api.DeviceInfo;
import dev.catena.api.ModelInfo;

import java.nio.file.Path;
import java.util.List;

/** A compute backend: what it runs on, and what it can read. Thread-safe. */
public interface SpanBackend {

    /** The provider's name, e.g. {@code ffm}. */
    String name();

    /** Version of the native engine underneath, e.g. {@code llama.cpp v0.5.0}. */
    String engineVersion();

    /** Devices this backend can place spans on, in the backend's order. */
    List<DeviceInfo> devices();

    /**
     * Reads a model's metadata without loading its weights.
     *
     * @throws dev.catena.api.ModelFormatException when the file is missing, not GGUF, truncated or malformed
     */
    ModelInfo inspect(Path model);

    /**
     * Loads blocks {@code [start, end)} of {@code model}.
     *
     * @throws dev.catena.api.SpanInputException when the range is empty or outside the model
     * @throws dev.catena.api.UnsupportedModelException for an architecture or weight type it cannot run
     */
    Span openSpan(Path model, int start, int end, SpanOptions options);

    /** Loads the client's part of {@code model}: embeddings, final norm, LM head, tokenizer. */
    ModelHead openHead(Path model, SpanOptions options);

    /**
     * Opens {@code model} whole in the native engine's own decoder, as the reference to compare
     * Catena's decoding with (for the ffm backend: llama.cpp's {@code llama_decode} on the CPU).
     *
     * @throws dev.catena.api.ModelFormatException when the file is missing, not GGUF, truncated or malformed
     * @throws dev.catena.api.UnsupportedModelException for an architecture or weight type the engine cannot run
     */
    ReferenceDecoder openReference(Path model, ReferenceOptions options);
}

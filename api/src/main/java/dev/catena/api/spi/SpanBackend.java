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
}

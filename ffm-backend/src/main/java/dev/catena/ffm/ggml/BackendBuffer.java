package dev.catena.ffm.ggml;

import static dev.catena.ffm.internal.ggml_h.ggml_backend_buffer_get_size;

/** Memory of a backend (host RAM or device memory) holding tensors' data; freed on close. */
public final class BackendBuffer implements AutoCloseable {
    private final NativeHandle handle;

    BackendBuffer(NativeHandle handle) {
        this.handle = handle;
    }

    /** Exact size in bytes, for memory accounting. */
    public long size() {
        return ggml_backend_buffer_get_size(handle.get());
    }

    @Override
    public void close() {
        handle.close();
    }
}

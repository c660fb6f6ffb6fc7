package dev.catena.ffm.ggml;

import dev.catena.ffm.natives.NativeHandle;
import dev.catena.ffm.natives.ZeroPages;

import java.lang.foreign.MemorySegment;

import static dev.catena.ffm.internal.ggml_h.*;

/** Memory of a backend (host RAM or device memory) holding tensors' data; freed on close. */
public final class BackendBuffer implements AutoCloseable {
    private final NativeHandle handle;

    BackendBuffer(NativeHandle handle) {
        this.handle = handle;
    }

    /** Allocates every tensor of {@code ctx} in one buffer of type {@code buft}, marked as holding weights. */
    public static BackendBuffer forWeights(GgmlContext ctx, MemorySegment buft) {
        var buffer = new BackendBuffer(new NativeHandle("weight buffer",
                ggml_backend_alloc_ctx_tensors_from_buft(ctx.handle(), buft), b -> ggml_backend_buffer_free(b)));
        ggml_backend_buffer_set_usage(buffer.handle.get(), GGML_BACKEND_BUFFER_USAGE_WEIGHTS());
        return buffer;
    }

    /**
     * Allocates every tensor of {@code ctx} in one buffer of type {@code buft}, zeroed: in host memory by
     * the kernel's zero pages, so that memory never written is neither cleared nor resident ({@link ZeroPages}).
     * Only ggml's plain CPU buffers (malloc'd) are zeroed so: other host buffers (a GPU's pinned host
     * memory) must keep their pages.
     */
    public static BackendBuffer zeroed(GgmlContext ctx, MemorySegment buft, String what) {
        var buffer = new BackendBuffer(new NativeHandle(what,
                ggml_backend_alloc_ctx_tensors_from_buft(ctx.handle(), buft), b -> ggml_backend_buffer_free(b)));
        MemorySegment b = buffer.handle.get();
        if (!buft.equals(ggml_backend_cpu_buffer_type()) || !ZeroPages.zero(ggml_backend_buffer_get_base(b), ggml_backend_buffer_get_size(b))) {
            ggml_backend_buffer_clear(b, (byte) 0);
        }
        return buffer;
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

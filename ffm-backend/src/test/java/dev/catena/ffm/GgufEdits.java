package dev.catena.ffm;

import dev.catena.ffm.internal.ggml_tensor;
import dev.catena.ffm.internal.gguf_init_params;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.function.BiConsumer;

import static dev.catena.ffm.internal.ggml_h.*;

/** Test helper: copies of a GGUF file, whole or with one thing changed, written by ggml's own gguf writer. */
public final class GgufEdits {
    private GgufEdits() {
    }

    public static Path withMetadata(Path from, Path to, String key, String value) {
        return rewrite(from, to, (copy, data) -> {
            try (Arena arena = Arena.ofConfined()) {
                gguf_set_val_str(copy, arena.allocateFrom(key), arena.allocateFrom(value));
            }
        });
    }

    /** {@code type} must have the same row size as the tensor's type, so that the data stays valid bytes. */
    public static Path withTensorType(Path from, Path to, String tensor, int type) {
        return rewrite(from, to, (copy, data) -> {
            try (Arena arena = Arena.ofConfined()) {
                ggml_tensor.type(ggml_get_tensor(data, arena.allocateFrom(tensor)), type);
            }
        });
    }

    /** {@code from} read with its data and written whole by ggml, unchanged. */
    public static Path rewrite(Path from, Path to) {
        return rewrite(from, to, (copy, data) -> { });
    }

    /** Loads {@code from} with its data, lets {@code edit} change the new context or the tensors, writes {@code to}. */
    private static Path rewrite(Path from, Path to, BiConsumer<MemorySegment, MemorySegment> edit) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ggmlCtx = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment params = gguf_init_params.allocate(arena);
            gguf_init_params.no_alloc(params, false);
            gguf_init_params.ctx(params, ggmlCtx);
            MemorySegment read = gguf_init_from_file(arena.allocateFrom(from.toString()), params);
            if (read.equals(MemorySegment.NULL)) {
                throw new IllegalStateException("ggml cannot read " + from);
            }
            MemorySegment data = ggmlCtx.get(ValueLayout.ADDRESS, 0);
            MemorySegment copy = gguf_init_empty();
            try {
                // A context read from a file cannot be written whole; a new one with the loaded tensors can.
                gguf_set_kv(copy, read);
                edit.accept(copy, data);
                for (long i = 0, n = gguf_get_n_tensors(read); i < n; i++) {
                    gguf_add_tensor(copy, ggml_get_tensor(data, gguf_get_tensor_name(read, i)));
                }
                if (!gguf_write_to_file(copy, arena.allocateFrom(to.toString()), false)) {
                    throw new IllegalStateException("ggml cannot write " + to);
                }
            } finally {
                gguf_free(copy);
                gguf_free(read);
                ggml_free(data);
            }
        }
        return to;
    }
}

package dev.catena.ffm.model;

import dev.catena.api.UnsupportedModelException;
import dev.catena.ffm.ggml.BackendBuffer;
import dev.catena.ffm.ggml.GgmlBackend;
import dev.catena.ffm.ggml.GgmlContext;
import dev.catena.ffm.gguf.GgufFile;
import dev.catena.ffm.gguf.GgufTensor;
import dev.catena.ffm.internal.ggml_tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * Tensors of a GGUF file copied onto a backend, each into the first buffer type that can run its
 * use (for matrices: the CPU's repacking types first, as llama.cpp does, so that the same kernels
 * and roundings run). The file is mapped only while loading.
 */
public final class Weights implements AutoCloseable {
    private final Map<String, MemorySegment> tensors;
    private final List<GgmlContext> contexts;
    private final List<BackendBuffer> buffers;

    private Weights(Map<String, MemorySegment> tensors, List<GgmlContext> contexts, List<BackendBuffer> buffers) {
        this.tensors = tensors;
        this.contexts = contexts;
        this.buffers = buffers;
    }

    /**
     * Loads the named tensors of {@code file}.
     *
     * @param matrices names of the tensors used as the weight of a matrix multiplication
     */
    public static Weights load(GgufFile file, Collection<String> names, Collection<String> matrices, GgmlBackend backend) {
        List<MemorySegment> bufferTypes = backend.weightBufferTypes();
        Map<MemorySegment, List<GgufTensor>> byType = new LinkedHashMap<>();
        for (String name : names) {
            GgufTensor t = file.tensor(name)
                    .orElseThrow(() -> new UnsupportedModelException(file.path(), "tensor " + name + " is missing"));
            MemorySegment buft = matrices.contains(name) ? matmulBufferType(t, bufferTypes, backend.device(), file)
                    : bufferTypes.getLast();
            byType.computeIfAbsent(buft, k -> new ArrayList<>()).add(t);
        }
        Map<String, MemorySegment> tensors = new HashMap<>();
        List<GgmlContext> contexts = new ArrayList<>();
        List<BackendBuffer> buffers = new ArrayList<>();
        try (Arena mapping = Arena.ofConfined(); var channel = FileChannel.open(file.path(), StandardOpenOption.READ)) {
            MemorySegment data = channel.map(FileChannel.MapMode.READ_ONLY, 0, file.fileSize(), mapping);
            for (var group : byType.entrySet()) {
                GgmlContext ctx = GgmlContext.create(group.getValue().size(), 0);
                contexts.add(ctx);
                for (GgufTensor t : group.getValue()) {
                    MemorySegment tensor = ctx.newTensor(t.type(), t.ne());
                    try (Arena scratch = Arena.ofConfined()) {
                        ggml_set_name(tensor, scratch.allocateFrom(t.name()));
                    }
                    tensors.put(t.name(), tensor);
                }
                buffers.add(BackendBuffer.forWeights(ctx, group.getKey()));
                for (GgufTensor t : group.getValue()) {
                    // For repacking buffer types this is where the weights are rearranged.
                    ggml_backend_tensor_set(tensors.get(t.name()), data.asSlice(file.dataOffset() + t.offset(), t.bytes()), 0,
                            t.bytes());
                }
            }
        } catch (IOException e) {
            closeAll(buffers, contexts);
            throw new UncheckedIOException("cannot map " + file.path(), e);
        } catch (RuntimeException | Error e) {
            closeAll(buffers, contexts);
            throw e;
        }
        return new Weights(Map.copyOf(tensors), List.copyOf(contexts), List.copyOf(buffers));
    }

    /** The first buffer type whose device can multiply by {@code t} stored in it (llama.cpp's weight_buft_supported). */
    private static MemorySegment matmulBufferType(GgufTensor t, List<MemorySegment> bufferTypes, MemorySegment device,
                                                  GgufFile file) {
        // The CPU backend claims any type with a default vec_dot type, integers included, then aborts
        // at compute time: only floating-point and quantized types are matrix weights.
        boolean numeric = ggml_is_quantized(t.type()) || t.type() == GGML_TYPE_F32() || t.type() == GGML_TYPE_F16()
                || t.type() == GGML_TYPE_BF16();
        if (!numeric) {
            throw new UnsupportedModelException(file.path(), "cannot multiply by " + t.name() + " of type " + t.typeName()
                    + " (matrix weights must be float or quantized)");
        }
        long[] ne = t.ne();
        try (GgmlContext probe = GgmlContext.create(3, 0)) {
            MemorySegment w = probe.newTensor(t.type(), ne);
            MemorySegment input = probe.newTensor(GGML_TYPE_F32(), ne[0], 512, ne[2], ne[3]);
            MemorySegment op = ggml_mul_mat(probe.handle(), w, input);
            for (MemorySegment buft : bufferTypes) {
                MemorySegment dummy = ggml_backend_buft_alloc_buffer(buft, 0);
                ggml_tensor.buffer(w, dummy);
                // The device is the backend's: extra buffer types need not name one (llama.cpp pairs them too).
                boolean supported = ggml_backend_dev_supports_op(device, op);
                ggml_tensor.buffer(w, MemorySegment.NULL);
                ggml_backend_buffer_free(dummy);
                if (supported) {
                    return buft;
                }
            }
        }
        throw new UnsupportedModelException(file.path(), "this device cannot multiply by " + t.name()
                + " of type " + t.typeName());
    }

    public MemorySegment get(String name) {
        MemorySegment t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no tensor " + name + " was loaded");
        }
        return t;
    }

    public Optional<MemorySegment> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** Bytes held on the device (after repacking, which may change sizes). */
    public long bytes() {
        return buffers.stream().mapToLong(BackendBuffer::size).sum();
    }

    @Override
    public void close() {
        closeAll(buffers, contexts);
    }

    private static void closeAll(List<BackendBuffer> buffers, List<GgmlContext> contexts) {
        RuntimeException failure = null;
        for (var list : List.<List<? extends AutoCloseable>>of(buffers, contexts)) {
            for (int i = list.size() - 1; i >= 0; i--) {
                try {
                    list.get(i).close();
                } catch (Exception e) {
                    if (failure == null) failure = new IllegalStateException("closing weights failed", e);
                    else failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}

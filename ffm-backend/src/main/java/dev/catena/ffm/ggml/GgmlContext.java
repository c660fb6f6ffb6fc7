package dev.catena.ffm.ggml;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import dev.catena.ffm.internal.*;
import dev.catena.ffm.natives.NativeHandle;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * A ggml context that holds tensor and graph metadata only ({@code no_alloc}): tensor data lives
 * in backend buffers ({@link GgmlBackend#allocate}), so the same code serves CPU and GPU.
 */
public final class GgmlContext implements AutoCloseable {
    private final NativeHandle handle;

    private GgmlContext(NativeHandle handle) {
        this.handle = handle;
    }

    /** Room for {@code maxTensors} tensors and one graph of {@code graphSize} nodes. */
    public static GgmlContext create(long maxTensors, long graphSize) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = ggml_init_params.allocate(arena);
            ggml_init_params.mem_size(params, maxTensors * ggml_tensor_overhead() + ggml_graph_overhead_custom(graphSize, false));
            ggml_init_params.mem_buffer(params, MemorySegment.NULL);
            ggml_init_params.no_alloc(params, true);
            return new GgmlContext(new NativeHandle("ggml context", GgmlException.nonNull(ggml_init(params), "ggml_init"),
                    c -> ggml_free(c)));
        }
    }

    public MemorySegment handle() {
        return handle.get();
    }

    /** A new tensor of ggml type {@code type} with shape {@code ne} (ggml order, 1 to 4 dims). */
    public MemorySegment newTensor(int type, long... ne) {
        MemorySegment t = switch (ne.length) {
            case 1 -> ggml_new_tensor_1d(handle(), type, ne[0]);
            case 2 -> ggml_new_tensor_2d(handle(), type, ne[0], ne[1]);
            case 3 -> ggml_new_tensor_3d(handle(), type, ne[0], ne[1], ne[2]);
            case 4 -> ggml_new_tensor_4d(handle(), type, ne[0], ne[1], ne[2], ne[3]);
            default -> throw new IllegalArgumentException("ggml tensors have 1 to 4 dimensions, not " + ne.length);
        };
        if (t.equals(MemorySegment.NULL)) {
            throw new GgmlException("ggml_new_tensor: context out of room for tensor metadata");
        }
        return t;
    }

    /** A graph that computes {@code output} and everything it depends on. */
    public MemorySegment graphOf(long maxNodes, MemorySegment output) {
        MemorySegment graph = ggml_new_graph_custom(handle(), maxNodes, false);
        ggml_build_forward_expand(graph, output);
        return graph;
    }

    @Override
    public void close() {
        handle.close();
    }
}

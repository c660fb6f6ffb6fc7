package dev.catena.ffm.ggml;

import dev.catena.ffm.internal.ggml_init_params;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiFunction;
import java.util.function.Function;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * Runs graphs on one backend, one at a time, reusing across steps the memory for graph metadata
 * and the graph allocator's compute buffer (which grows to the largest graph seen, then stays).
 * Callers that share a runner share its backend and buffers; the lock serialises them.
 */
public final class GraphRunner implements AutoCloseable {
    /** A built graph and whatever tensors the caller needs to set or read. */
    public interface Step {
        MemorySegment graph();
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Arena arena = Arena.ofShared();
    private final MemorySegment params;     // ggml_init_params pointing at our metadata memory
    private final MemorySegment allocator;  // ggml_gallocr_t
    private final GgmlBackend backend;
    private boolean closed;

    /** Room for graphs of up to {@code maxNodes} nodes and as many tensors. */
    public GraphRunner(GgmlBackend backend, int maxNodes) {
        this.backend = backend;
        long size = (long) maxNodes * ggml_tensor_overhead() + ggml_graph_overhead_custom(maxNodes, false);
        MemorySegment metadata = arena.allocate(size, 64);
        this.params = ggml_init_params.allocate(arena);
        ggml_init_params.mem_size(params, size);
        ggml_init_params.mem_buffer(params, metadata);
        ggml_init_params.no_alloc(params, true);
        MemorySegment galloc = ggml_gallocr_new(ggml_backend_get_default_buffer_type(backend.handle()));
        if (galloc.equals(MemorySegment.NULL)) {
            arena.close();
            throw new GgmlException("ggml_gallocr_new returned NULL");
        }
        this.allocator = galloc;
    }

    /**
     * Under the lock: {@code build} makes a graph in a fresh metadata context, the runner allocates
     * it, and {@code run} sets inputs, computes (with {@link GgmlBackend#compute}) and reads outputs.
     */
    public <S extends Step, T> T run(Function<MemorySegment, S> build, BiFunction<S, GgmlBackend, T> run) {
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("graph runner is closed");
            }
            MemorySegment ctx = ggml_init(params);
            if (ctx.equals(MemorySegment.NULL)) {
                throw new GgmlException("ggml_init for a graph returned NULL");
            }
            try {
                S step = build.apply(ctx);
                if (!ggml_gallocr_alloc_graph(allocator, step.graph())) {
                    throw new GgmlException("cannot allocate the compute buffer for a graph (out of memory?)");
                }
                return run.apply(step, backend);
            } finally {
                ggml_free(ctx); // frees only the context header: the metadata memory is ours
            }
        } finally {
            lock.unlock();
        }
    }

    /** Bytes of the compute buffer, for memory accounting. */
    public long computeBytes() {
        lock.lock();
        try {
            return closed ? 0 : ggml_gallocr_get_buffer_size(allocator, 0);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (!closed) {
                closed = true;
                ggml_gallocr_free(allocator);
                arena.close();
            }
        } finally {
            lock.unlock();
        }
    }
}

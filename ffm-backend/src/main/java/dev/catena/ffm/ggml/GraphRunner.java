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
 *
 * <p>Like llama.cpp, the runner keeps the last graph it built: a step whose {@code shape} equals the
 * previous step's runs that graph again, with no rebuild and no reallocation (only the inputs
 * change). Any other step, or a failed one, drops it. The shape must therefore name everything the
 * graph's structure depends on (e.g. the session whose cache it writes, tokens, attended cells),
 * and positions and the like must be graph inputs.
 */
public final class GraphRunner implements AutoCloseable {
    /** A built graph and whatever tensors the caller needs to set or read. */
    public interface Step {
        MemorySegment graph();
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Arena arena = Arena.ofShared();
    private final MemorySegment params;     // ggml_init_params pointing at our metadata memory
    private Arena metadataArena;             // holds the metadata memory; replaced when a bigger graph needs more
    private int maxNodes;
    private final MemorySegment allocator;  // ggml_gallocr_t
    private final GgmlBackend backend;
    private MemorySegment context = MemorySegment.NULL; // ggml context of the kept graph, or NULL
    private Object keptShape;  // shape of the kept graph, or null
    private Step kept;         // the last graph, allocated and complete, or null
    private long builds;
    private boolean closed;

    /** Room for graphs of up to {@code maxNodes} nodes and as many tensors. */
    public GraphRunner(GgmlBackend backend, int maxNodes) {
        this.backend = backend;
        this.params = ggml_init_params.allocate(arena);
        ggml_init_params.no_alloc(params, true);
        reserve(maxNodes);
        MemorySegment galloc = ggml_gallocr_new(ggml_backend_get_default_buffer_type(backend.handle()));
        if (galloc.equals(MemorySegment.NULL)) {
            metadataArena.close();
            arena.close();
            throw new GgmlException("ggml_gallocr_new returned NULL");
        }
        this.allocator = galloc;
    }

    /** Metadata memory for graphs of {@code nodes} nodes and as many tensors; called under the lock or at construction. */
    private void reserve(int nodes) {
        long size = (long) nodes * ggml_tensor_overhead() + ggml_graph_overhead_custom(nodes, false);
        Arena fresh = Arena.ofShared();
        ggml_init_params.mem_size(params, size);
        ggml_init_params.mem_buffer(params, fresh.allocate(size, 64));
        if (metadataArena != null) {
            metadataArena.close();
        }
        metadataArena = fresh;
        maxNodes = nodes;
    }

    /**
     * As {@link #run(Object, Function, BiFunction)} for a graph of up to {@code nodes} nodes and
     * tensors, more than the runner was made for (e.g. a batch of many sessions): the metadata
     * memory grows to fit, and stays.
     */
    public <S extends Step, T> T run(Object shape, int nodes, Function<MemorySegment, S> build,
                                     BiFunction<S, GgmlBackend, T> run) {
        lock.lock();
        try {
            if (!closed && nodes > maxNodes) {
                drop(); // the kept graph's metadata lives in the memory replaced
                reserve(nodes);
            }
            return run(shape, build, run);
        } finally {
            lock.unlock();
        }
    }

    /** As {@link #run(Object, Function, BiFunction)} with a graph that is never reused. */
    public <S extends Step, T> T run(Function<MemorySegment, S> build, BiFunction<S, GgmlBackend, T> run) {
        return run(null, build, run);
    }

    /**
     * Under the lock: unless the last graph has this {@code shape} (non-null), {@code build} makes a
     * graph in a fresh metadata context and the runner allocates it; then {@code run} sets inputs,
     * computes (with {@link GgmlBackend#compute}) and reads outputs.
     */
    @SuppressWarnings("unchecked")
    public <S extends Step, T> T run(Object shape, Function<MemorySegment, S> build, BiFunction<S, GgmlBackend, T> run) {
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("graph runner is closed");
            }
            S step;
            if (shape != null && kept != null && shape.equals(keptShape)) {
                step = (S) kept;
            } else {
                drop(); // the new graph's metadata overwrites the kept one's
                context = ggml_init(params);
                if (context.equals(MemorySegment.NULL)) {
                    throw new GgmlException("ggml_init for a graph returned NULL");
                }
                builds++;
                step = build.apply(context);
                if (!ggml_gallocr_alloc_graph(allocator, step.graph())) {
                    drop();
                    throw new GgmlException("cannot allocate the compute buffer for a graph (out of memory?)");
                }
                if (shape != null) {
                    kept = step;
                    keptShape = shape;
                }
            }
            boolean done = false;
            try {
                T result = run.apply(step, backend);
                done = true;
                return result;
            } finally {
                if (!done || shape == null) {
                    drop();
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Graphs built so far (a reused graph is not built again). */
    public long builds() {
        lock.lock();
        try {
            return builds;
        } finally {
            lock.unlock();
        }
    }

    private void drop() {
        kept = null;
        keptShape = null;
        if (!context.equals(MemorySegment.NULL)) {
            ggml_free(context); // frees only the context header: the metadata memory is ours
            context = MemorySegment.NULL;
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
                drop();
                ggml_gallocr_free(allocator);
                metadataArena.close();
                arena.close();
            }
        } finally {
            lock.unlock();
        }
    }
}

package dev.catena.ffm.span;

import dev.catena.ffm.ggml.BackendBuffer;
import dev.catena.ffm.ggml.GgmlBackend;
import dev.catena.ffm.ggml.GgmlContext;
import dev.catena.ffm.model.ModelHparams;

import java.lang.foreign.MemorySegment;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * One session's keys and values for a span's blocks: per block a K and a V tensor of
 * {@code [nEmbdKvGqa, size]}, cell i holding position i, all in one buffer of the span's device.
 */
final class KvCache implements AutoCloseable {
    private final GgmlContext ctx;
    private final BackendBuffer buffer;
    private final MemorySegment[] k;
    private final MemorySegment[] v;
    private final int type;
    private final int size;
    private final int rowElements;
    private final int headDim;
    private final int heads;

    KvCache(ModelHparams hp, int layers, int size, int type, GgmlBackend backend) {
        this.size = size;
        this.type = type;
        this.rowElements = hp.nEmbdKvGqa();
        this.headDim = hp.headDim();
        this.heads = hp.nHeadKv();
        this.k = new MemorySegment[layers];
        this.v = new MemorySegment[layers];
        this.ctx = GgmlContext.create(2L * layers, 0);
        try {
            for (int il = 0; il < layers; il++) {
                k[il] = ctx.newTensor(type, rowElements, size);
                v[il] = ctx.newTensor(type, rowElements, size);
            }
            // Zeroed: cells not yet written are masked out, but must not hold NaNs (0 * NaN = NaN).
            this.buffer = BackendBuffer.zeroed(ctx, ggml_backend_get_default_buffer_type(backend.handle()), "KV cache");
        } catch (RuntimeException e) {
            ctx.close();
            throw e;
        }
    }

    MemorySegment k(int layer) {
        return k[layer];
    }

    MemorySegment v(int layer) {
        return v[layer];
    }

    /** The first {@code nKv} cells of a K or V tensor as {@code [headDim, heads, nKv]}. */
    MemorySegment view(MemorySegment ctx, MemorySegment cache, int nKv) {
        return ggml_view_4d(ctx, cache, headDim, heads, nKv, 1, ggml_row_size(type, headDim),
                ggml_row_size(type, rowElements), ggml_row_size(type, (long) rowElements * size), 0);
    }

    int size() {
        return size;
    }

    long bytes() {
        return buffer.size();
    }

    @Override
    public void close() {
        try {
            buffer.close();
        } finally {
            ctx.close();
        }
    }
}

package dev.catena.ffm.span;

import dev.catena.ffm.ggml.GraphRunner;
import dev.catena.ffm.model.ModelHparams;

import java.lang.foreign.MemorySegment;
import java.util.List;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * Builds the ggml graph of a span's blocks for one session's step, op for op as llama.cpp's graphs
 * do ({@link LayerOps}), so that the same kernels see the same shapes and the results agree with
 * llama.cpp's own decode.
 */
final class BlockGraph {
    /** The step's graph and the tensors whose data the caller sets ({@code input}...) or reads ({@code output}). */
    record Built(MemorySegment graph, MemorySegment input, MemorySegment positions, MemorySegment kvIndices,
                 MemorySegment mask, MemorySegment outputRows, MemorySegment output) implements GraphRunner.Step {
    }

    private BlockGraph() {
    }

    /** Upper bound on graph nodes for {@code layers} blocks. */
    static int maxNodes(int layers) {
        return 64 * layers + 64;
    }

    /**
     * @param n      tokens in this step
     * @param nKv    KV cells attended to (a multiple of 256 or the cache size, as llama.cpp pads it)
     * @param flash  flash attention over an F16 cache (llama.cpp's default on CPU), else mul_mat + soft_max
     * @param lastOnly output only the last token's row: the last block's FFN runs on that row alone
     *               (llama.cpp's inp_out_ids), and {@code outputRows} must then hold {@code n - 1}
     */
    static Built build(MemorySegment ctx, ModelHparams hp, List<LayerWeights> layers, KvCache kv, int n, int nKv,
                       boolean flash, boolean lastOnly, MemorySegment ropeFactors) {
        MemorySegment graph = ggml_new_graph_custom(ctx, maxNodes(layers.size()), false);
        LayerOps.Inputs in = LayerOps.inputs(ctx, hp, n);
        MemorySegment mask = LayerOps.mask(ctx, nKv, n, flash);
        // Even for one token, as llama.cpp (its get_rows of one row is a copy): the graph stays llama.cpp's.
        MemorySegment outputRows = lastOnly ? LayerOps.outputRows(ctx, 1, Integer.MAX_VALUE) : MemorySegment.NULL;

        float kqScale = LayerOps.kqScale(hp);
        MemorySegment inpL = in.hidden();
        for (int il = 0; il < layers.size(); il++) {
            LayerWeights w = layers.get(il);
            LayerOps.Qkv qkv = LayerOps.qkv(ctx, graph, hp, w, inpL, n, in.positions(), ropeFactors);
            ggml_build_forward_expand(graph, ggml_set_rows(ctx, kv.k(il), LayerOps.cacheRows(ctx, qkv.k(), hp, 0, n), in.kvIndices()));
            ggml_build_forward_expand(graph, ggml_set_rows(ctx, kv.v(il), LayerOps.cacheRows(ctx, qkv.v(), hp, 0, n), in.kvIndices()));
            MemorySegment heads = LayerOps.attention(ctx, graph, qkv.q(), kv.view(ctx, kv.k(il), nKv), kv.view(ctx, kv.v(il), nKv),
                    mask, kqScale, flash, hp, n);
            inpL = LayerOps.outputAndFfn(ctx, hp, w, heads, inpL, il == layers.size() - 1 ? outputRows : null);
        }
        ggml_set_output(inpL);
        ggml_build_forward_expand(graph, inpL);
        return new Built(graph, in.hidden(), in.positions(), in.kvIndices(), mask, outputRows, inpL);
    }
}

package dev.catena.ffm.span;

import dev.catena.ffm.ggml.GraphRunner;
import dev.catena.ffm.internal.ggml_tensor;
import dev.catena.ffm.model.ModelHparams;

import java.lang.foreign.MemorySegment;
import java.util.List;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * The graph of one step of several sessions on the same blocks (a decode step's one token each, or a
 * prefill's several): the weight matmuls, norms and feed-forward run over all rows together, each
 * session's keys and values go to its own cache and its rows attend to that cache alone, as its solo
 * step ({@link BlockGraph}) does, with the same ops and shapes per session.
 */
final class BatchGraph {
    /**
     * The graph and what the caller sets: input rows, positions, each row's cache cell, each session's
     * mask, and (when not every row is output) the rows the last block's feed-forward runs on.
     */
    record Built(MemorySegment graph, MemorySegment input, MemorySegment positions, MemorySegment kvIndices,
                 MemorySegment[] masks, MemorySegment outputRows, MemorySegment output) implements GraphRunner.Step {
    }

    private BatchGraph() {
    }

    /** Upper bound on graph nodes (and tensors) for {@code layers} blocks and {@code sessions} sessions. */
    static int maxNodes(int layers, int sessions) {
        return (64 + 24 * sessions) * layers + 64 + 4 * sessions;
    }

    /**
     * @param kvs     the sessions' caches, in the order of their rows
     * @param rows    each session's rows (tokens), consecutive in the input
     * @param nKv     the cells each session attends to, as its solo step would (its end padded to 256)
     * @param outputs rows the last block's feed-forward runs on and the output holds (llama.cpp's
     *                inp_out_ids); all rows when it equals their sum, else {@code outputRows} lists them
     */
    static Built build(MemorySegment ctx, ModelHparams hp, List<LayerWeights> layers, List<KvCache> kvs, int[] rows,
                       int[] nKv, int outputs, boolean flash, MemorySegment ropeFactors) {
        int b = kvs.size();
        int n = java.util.Arrays.stream(rows).sum();
        MemorySegment graph = ggml_new_graph_custom(ctx, maxNodes(layers.size(), b), false);
        LayerOps.Inputs in = LayerOps.inputs(ctx, hp, n);
        MemorySegment[] masks = new MemorySegment[b];
        for (int s = 0; s < b; s++) {
            masks[s] = LayerOps.mask(ctx, nKv[s], rows[s], flash);
        }
        MemorySegment outputRows = LayerOps.outputRows(ctx, outputs, n);

        float kqScale = LayerOps.kqScale(hp);
        MemorySegment inpL = in.hidden();
        for (int il = 0; il < layers.size(); il++) {
            LayerWeights w = layers.get(il);
            LayerOps.Qkv qkv = LayerOps.qkv(ctx, graph, hp, w, inpL, n, in.positions(), ropeFactors);
            // Every row's keys and values into its session's cache before any attention reads the caches.
            for (int s = 0, first = 0; s < b; first += rows[s], s++) {
                MemorySegment cells = ggml_view_1d(ctx, in.kvIndices(), rows[s], (long) first * Long.BYTES);
                KvCache kv = kvs.get(s);
                ggml_build_forward_expand(graph, ggml_set_rows(ctx, kv.k(il), LayerOps.cacheRows(ctx, qkv.k(), hp, first, rows[s]), cells));
                ggml_build_forward_expand(graph, ggml_set_rows(ctx, kv.v(il), LayerOps.cacheRows(ctx, qkv.v(), hp, first, rows[s]), cells));
            }
            MemorySegment q = qkv.q();
            MemorySegment[] heads = new MemorySegment[b];
            for (int s = 0, first = 0; s < b; first += rows[s], s++) {
                KvCache kv = kvs.get(s);
                MemorySegment qs = ggml_view_3d(ctx, q, hp.headDim(), hp.nHead(), rows[s], ggml_tensor.nb(q, 1),
                        ggml_tensor.nb(q, 2), first * ggml_tensor.nb(q, 2));
                heads[s] = LayerOps.attention(ctx, graph, qs, kv.view(ctx, kv.k(il), nKv[s]),
                        kv.view(ctx, kv.v(il), nKv[s]), masks[s], kqScale, flash, hp, rows[s]);
            }
            inpL = LayerOps.outputAndFfn(ctx, hp, w, concat(ctx, heads, 0, b), inpL, il == layers.size() - 1 ? outputRows : null);
        }
        ggml_set_output(inpL);
        ggml_build_forward_expand(graph, inpL);
        return new Built(graph, in.hidden(), in.positions(), in.kvIndices(), masks, outputRows, inpL);
    }

    /** Rows {@code [from, to)} of the per-session outputs side by side, by halves (copies grow as b log b, not b^2). */
    private static MemorySegment concat(MemorySegment ctx, MemorySegment[] rows, int from, int to) {
        if (to - from == 1) {
            return rows[from];
        }
        int mid = (from + to) >>> 1;
        return ggml_concat(ctx, concat(ctx, rows, from, mid), concat(ctx, rows, mid, to), 1);
    }
}

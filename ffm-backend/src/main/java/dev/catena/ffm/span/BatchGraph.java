package dev.catena.ffm.span;

import dev.catena.ffm.ggml.GraphRunner;
import dev.catena.ffm.internal.ggml_tensor;
import dev.catena.ffm.model.ModelHparams;

import java.lang.foreign.MemorySegment;
import java.util.List;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * The graph of one decode step (one token each) of several sessions on the same blocks: the weight
 * matmuls, norms and feed-forward run over all rows together, each session's keys and values go to
 * its own cache and its row attends to that cache alone, as its solo step ({@link BlockGraph}) does,
 * with the same ops and shapes per session.
 */
final class BatchGraph {
    /** The graph and what the caller sets: input rows, positions, each row's cache cell, each session's mask. */
    record Built(MemorySegment graph, MemorySegment input, MemorySegment positions, MemorySegment kvIndices,
                 MemorySegment[] masks, MemorySegment output) implements GraphRunner.Step {
    }

    private BatchGraph() {
    }

    /** Upper bound on graph nodes (and tensors) for {@code layers} blocks and {@code sessions} rows. */
    static int maxNodes(int layers, int sessions) {
        return (64 + 24 * sessions) * layers + 64 + 4 * sessions;
    }

    /**
     * @param kvs  the sessions' caches, one row each in this order
     * @param nKv  the cells each session attends to, as its solo step would (its length padded to 256)
     */
    static Built build(MemorySegment ctx, ModelHparams hp, List<LayerWeights> layers, List<KvCache> kvs, int[] nKv,
                       boolean flash, MemorySegment ropeFactors) {
        int b = kvs.size();
        MemorySegment graph = ggml_new_graph_custom(ctx, maxNodes(layers.size(), b), false);
        MemorySegment input = ggml_new_tensor_2d(ctx, GGML_TYPE_F32(), hp.nEmbd(), b);
        ggml_set_input(input);
        MemorySegment positions = ggml_new_tensor_1d(ctx, GGML_TYPE_I32(), b);
        ggml_set_input(positions);
        MemorySegment kvIndices = ggml_new_tensor_1d(ctx, GGML_TYPE_I64(), b);
        ggml_set_input(kvIndices);
        MemorySegment[] masks = new MemorySegment[b];
        for (int s = 0; s < b; s++) {
            masks[s] = ggml_new_tensor_4d(ctx, flash ? GGML_TYPE_F16() : GGML_TYPE_F32(), nKv[s], 1, 1, 1);
            ggml_set_input(masks[s]);
        }

        float kqScale = (float) (1.0 / Math.sqrt(hp.headDim()));
        MemorySegment inpL = input;
        for (int il = 0; il < layers.size(); il++) {
            LayerWeights w = layers.get(il);
            MemorySegment inpSA = inpL;
            MemorySegment cur = ggml_mul(ctx, ggml_rms_norm(ctx, inpL, hp.rmsEps()), w.attnNorm());

            MemorySegment q = ggml_reshape_3d(ctx, BlockGraph.linear(ctx, w.wq(), w.bq(), cur), hp.headDim(), hp.nHead(), b);
            MemorySegment k = ggml_reshape_3d(ctx, BlockGraph.linear(ctx, w.wk(), w.bk(), cur), hp.headDim(), hp.nHeadKv(), b);
            MemorySegment v = ggml_reshape_3d(ctx, BlockGraph.linear(ctx, w.wv(), w.bv(), cur), hp.headDim(), hp.nHeadKv(), b);
            q = BlockGraph.rope(ctx, q, positions, ropeFactors, hp);
            k = BlockGraph.rope(ctx, k, positions, ropeFactors, hp);
            ggml_build_forward_expand(graph, q);
            ggml_build_forward_expand(graph, v);
            ggml_build_forward_expand(graph, k);
            // Every row's keys and values into its session's cache before any attention reads the caches.
            for (int s = 0; s < b; s++) {
                MemorySegment cell = ggml_view_1d(ctx, kvIndices, 1, (long) s * Long.BYTES);
                ggml_build_forward_expand(graph, ggml_set_rows(ctx, kvs.get(s).k(il), row(ctx, k, hp, s), cell));
                ggml_build_forward_expand(graph, ggml_set_rows(ctx, kvs.get(s).v(il), row(ctx, v, hp, s), cell));
            }
            MemorySegment[] heads = new MemorySegment[b];
            for (int s = 0; s < b; s++) {
                KvCache kv = kvs.get(s);
                MemorySegment qs = ggml_view_3d(ctx, q, hp.headDim(), hp.nHead(), 1, ggml_tensor.nb(q, 1),
                        ggml_tensor.nb(q, 2), s * ggml_tensor.nb(q, 2));
                heads[s] = BlockGraph.attention(ctx, graph, qs, kv.view(ctx, kv.k(il), nKv[s]),
                        kv.view(ctx, kv.v(il), nKv[s]), masks[s], kqScale, flash, hp, 1);
            }
            cur = BlockGraph.linear(ctx, w.wo(), w.bo(), concat(ctx, heads, 0, b));
            MemorySegment ffnInp = ggml_add(ctx, cur, inpSA);
            cur = ggml_mul(ctx, ggml_rms_norm(ctx, ffnInp, hp.rmsEps()), w.ffnNorm());
            MemorySegment up = BlockGraph.linear(ctx, w.wUp(), w.bUp(), cur);
            MemorySegment gate = BlockGraph.linear(ctx, w.wGate(), w.bGate(), cur);
            cur = BlockGraph.linear(ctx, w.wDown(), w.bDown(), ggml_swiglu_split(ctx, gate, up));
            inpL = ggml_add(ctx, cur, ffnInp);
        }
        ggml_set_output(inpL);
        ggml_build_forward_expand(graph, inpL);
        return new Built(graph, input, positions, kvIndices, masks, inpL);
    }

    /** Row {@code s} of {@code [headDim, heads, b]} as a {@code [headDim * heads, 1]} cache row. */
    private static MemorySegment row(MemorySegment ctx, MemorySegment x, ModelHparams hp, int s) {
        return ggml_view_2d(ctx, x, hp.nEmbdKvGqa(), 1, ggml_tensor.nb(x, 2), s * ggml_tensor.nb(x, 2));
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

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
        MemorySegment input = ggml_new_tensor_2d(ctx, GGML_TYPE_F32(), hp.nEmbd(), n);
        ggml_set_input(input);
        MemorySegment positions = ggml_new_tensor_1d(ctx, GGML_TYPE_I32(), n);
        ggml_set_input(positions);
        MemorySegment kvIndices = ggml_new_tensor_1d(ctx, GGML_TYPE_I64(), n);
        ggml_set_input(kvIndices);
        MemorySegment[] masks = new MemorySegment[b];
        for (int s = 0; s < b; s++) {
            masks[s] = ggml_new_tensor_4d(ctx, flash ? GGML_TYPE_F16() : GGML_TYPE_F32(), nKv[s], rows[s], 1, 1);
            ggml_set_input(masks[s]);
        }
        MemorySegment outputRows = MemorySegment.NULL;
        if (outputs < n) {
            outputRows = ggml_new_tensor_1d(ctx, GGML_TYPE_I32(), outputs);
            ggml_set_input(outputRows);
        }

        float kqScale = (float) (1.0 / Math.sqrt(hp.headDim()));
        MemorySegment inpL = input;
        for (int il = 0; il < layers.size(); il++) {
            LayerWeights w = layers.get(il);
            MemorySegment inpSA = inpL;
            MemorySegment cur = ggml_mul(ctx, ggml_rms_norm(ctx, inpL, hp.rmsEps()), w.attnNorm());

            MemorySegment q = ggml_reshape_3d(ctx, BlockGraph.linear(ctx, w.wq(), w.bq(), cur), hp.headDim(), hp.nHead(), n);
            MemorySegment k = ggml_reshape_3d(ctx, BlockGraph.linear(ctx, w.wk(), w.bk(), cur), hp.headDim(), hp.nHeadKv(), n);
            MemorySegment v = ggml_reshape_3d(ctx, BlockGraph.linear(ctx, w.wv(), w.bv(), cur), hp.headDim(), hp.nHeadKv(), n);
            q = BlockGraph.rope(ctx, q, positions, ropeFactors, hp);
            k = BlockGraph.rope(ctx, k, positions, ropeFactors, hp);
            ggml_build_forward_expand(graph, q);
            ggml_build_forward_expand(graph, v);
            ggml_build_forward_expand(graph, k);
            // Every row's keys and values into its session's cache before any attention reads the caches.
            for (int s = 0, first = 0; s < b; first += rows[s], s++) {
                MemorySegment cells = ggml_view_1d(ctx, kvIndices, rows[s], (long) first * Long.BYTES);
                ggml_build_forward_expand(graph, ggml_set_rows(ctx, kvs.get(s).k(il), rowsOf(ctx, k, hp, first, rows[s]), cells));
                ggml_build_forward_expand(graph, ggml_set_rows(ctx, kvs.get(s).v(il), rowsOf(ctx, v, hp, first, rows[s]), cells));
            }
            MemorySegment[] heads = new MemorySegment[b];
            for (int s = 0, first = 0; s < b; first += rows[s], s++) {
                KvCache kv = kvs.get(s);
                MemorySegment qs = ggml_view_3d(ctx, q, hp.headDim(), hp.nHead(), rows[s], ggml_tensor.nb(q, 1),
                        ggml_tensor.nb(q, 2), first * ggml_tensor.nb(q, 2));
                heads[s] = BlockGraph.attention(ctx, graph, qs, kv.view(ctx, kv.k(il), nKv[s]),
                        kv.view(ctx, kv.v(il), nKv[s]), masks[s], kqScale, flash, hp, rows[s]);
            }
            cur = BlockGraph.linear(ctx, w.wo(), w.bo(), concat(ctx, heads, 0, b));
            if (outputs < n && il == layers.size() - 1) {
                cur = ggml_get_rows(ctx, cur, outputRows);
                inpSA = ggml_get_rows(ctx, inpSA, outputRows);
            }
            MemorySegment ffnInp = ggml_add(ctx, cur, inpSA);
            cur = ggml_mul(ctx, ggml_rms_norm(ctx, ffnInp, hp.rmsEps()), w.ffnNorm());
            MemorySegment up = BlockGraph.linear(ctx, w.wUp(), w.bUp(), cur);
            MemorySegment gate = BlockGraph.linear(ctx, w.wGate(), w.bGate(), cur);
            cur = BlockGraph.linear(ctx, w.wDown(), w.bDown(), ggml_swiglu_split(ctx, gate, up));
            inpL = ggml_add(ctx, cur, ffnInp);
        }
        ggml_set_output(inpL);
        ggml_build_forward_expand(graph, inpL);
        return new Built(graph, input, positions, kvIndices, masks, outputRows, inpL);
    }

    /** Rows {@code [first, first + count)} of {@code [headDim, heads, n]} as {@code [headDim * heads, count]} cache rows. */
    private static MemorySegment rowsOf(MemorySegment ctx, MemorySegment x, ModelHparams hp, int first, int count) {
        return ggml_view_2d(ctx, x, hp.nEmbdKvGqa(), count, ggml_tensor.nb(x, 2), first * ggml_tensor.nb(x, 2));
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

package dev.catena.ffm.span;

import dev.catena.ffm.ggml.GraphRunner;
import dev.catena.ffm.internal.ggml_tensor;
import dev.catena.ffm.model.ModelHparams;

import java.lang.foreign.MemorySegment;
import java.util.List;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * Builds the ggml graph of a span's blocks for one step, op for op as llama.cpp's llama and qwen2
 * graphs do (llm_build_llama, build_qkv, build_attn, build_ffn), so that the same kernels see the
 * same shapes and the results agree with llama.cpp's own decode.
 */
final class BlockGraph {
    // llama.cpp's defaults for models without YaRN: ext_factor 0, attn_factor 1, beta_fast 32, beta_slow 1.
    private static final float EXT_FACTOR = 0f;
    private static final float ATTN_FACTOR = 1f;
    private static final float BETA_FAST = 32f;
    private static final float BETA_SLOW = 1f;

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
        MemorySegment input = ggml_new_tensor_2d(ctx, GGML_TYPE_F32(), hp.nEmbd(), n);
        ggml_set_input(input);
        MemorySegment positions = ggml_new_tensor_1d(ctx, GGML_TYPE_I32(), n);
        ggml_set_input(positions);
        MemorySegment kvIndices = ggml_new_tensor_1d(ctx, GGML_TYPE_I64(), n);
        ggml_set_input(kvIndices);
        MemorySegment mask = ggml_new_tensor_4d(ctx, flash ? GGML_TYPE_F16() : GGML_TYPE_F32(), nKv, n, 1, 1);
        ggml_set_input(mask);
        MemorySegment outputRows = MemorySegment.NULL;
        if (lastOnly) {
            outputRows = ggml_new_tensor_1d(ctx, GGML_TYPE_I32(), 1);
            ggml_set_input(outputRows);
        }

        float kqScale = (float) (1.0 / Math.sqrt(hp.headDim()));
        MemorySegment inpL = input;
        for (int il = 0; il < layers.size(); il++) {
            LayerWeights w = layers.get(il);
            MemorySegment inpSA = inpL;
            MemorySegment cur = ggml_mul(ctx, ggml_rms_norm(ctx, inpL, hp.rmsEps()), w.attnNorm());

            MemorySegment q = ggml_reshape_3d(ctx, linear(ctx, w.wq(), w.bq(), cur), hp.headDim(), hp.nHead(), n);
            MemorySegment k = ggml_reshape_3d(ctx, linear(ctx, w.wk(), w.bk(), cur), hp.headDim(), hp.nHeadKv(), n);
            MemorySegment v = ggml_reshape_3d(ctx, linear(ctx, w.wv(), w.bv(), cur), hp.headDim(), hp.nHeadKv(), n);
            q = rope(ctx, q, positions, ropeFactors, hp);
            k = rope(ctx, k, positions, ropeFactors, hp);

            // Same expansion order as llama.cpp, so the graph's node order matches too.
            ggml_build_forward_expand(graph, q);
            ggml_build_forward_expand(graph, v);
            ggml_build_forward_expand(graph, k);
            ggml_build_forward_expand(graph, ggml_set_rows(ctx, kv.k(il), flat(ctx, k, hp, n), kvIndices));
            ggml_build_forward_expand(graph, ggml_set_rows(ctx, kv.v(il), flat(ctx, v, hp, n), kvIndices));

            cur = attention(ctx, graph, q, kv.view(ctx, kv.k(il), nKv), kv.view(ctx, kv.v(il), nKv), mask, kqScale, flash, hp, n);
            cur = linear(ctx, w.wo(), w.bo(), cur);
            if (lastOnly && il == layers.size() - 1) {
                cur = ggml_get_rows(ctx, cur, outputRows);
                inpSA = ggml_get_rows(ctx, inpSA, outputRows);
            }

            MemorySegment ffnInp = ggml_add(ctx, cur, inpSA);
            cur = ggml_mul(ctx, ggml_rms_norm(ctx, ffnInp, hp.rmsEps()), w.ffnNorm());
            MemorySegment up = linear(ctx, w.wUp(), w.bUp(), cur);
            MemorySegment gate = linear(ctx, w.wGate(), w.bGate(), cur);
            cur = linear(ctx, w.wDown(), w.bDown(), ggml_swiglu_split(ctx, gate, up));
            inpL = ggml_add(ctx, cur, ffnInp);
        }
        ggml_set_output(inpL);
        ggml_build_forward_expand(graph, inpL);
        return new Built(graph, input, positions, kvIndices, mask, outputRows, inpL);
    }

    static MemorySegment linear(MemorySegment ctx, MemorySegment w, MemorySegment b, MemorySegment x) {
        MemorySegment y = ggml_mul_mat(ctx, w, x);
        return b == null ? y : ggml_add(ctx, y, b);
    }

    static MemorySegment rope(MemorySegment ctx, MemorySegment x, MemorySegment positions, MemorySegment factors,
                                      ModelHparams hp) {
        return ggml_rope_ext(ctx, x, positions, factors == null ? MemorySegment.NULL : factors, hp.nRot(), hp.ropeType(),
                hp.nCtxTrain(), hp.freqBase(), hp.freqScale(), EXT_FACTOR, ATTN_FACTOR, BETA_FAST, BETA_SLOW);
    }

    /** {@code [headDim, heads, n]} as {@code [headDim * heads, n]} rows for the cache (llama.cpp's cpy_k). */
    private static MemorySegment flat(MemorySegment ctx, MemorySegment x, ModelHparams hp, int n) {
        return ggml_view_2d(ctx, x, hp.nEmbdKvGqa(), n, ggml_tensor.nb(x, 2), 0);
    }

    static MemorySegment attention(MemorySegment ctx, MemorySegment graph, MemorySegment q, MemorySegment k,
                                           MemorySegment v, MemorySegment mask, float kqScale, boolean flash,
                                           ModelHparams hp, int n) {
        q = ggml_permute(ctx, q, 0, 2, 1, 3);
        k = ggml_permute(ctx, k, 0, 2, 1, 3);
        v = ggml_permute(ctx, v, 0, 2, 1, 3);
        MemorySegment cur;
        if (flash) {
            cur = ggml_flash_attn_ext(ctx, q, k, v, mask, kqScale, 0f, 0f);
            ggml_prec_set_acc(cur, GGML_PREC_F32());
            cur = ggml_reshape_2d(ctx, cur, hp.nEmbdQ(), n);
        } else {
            MemorySegment kq = ggml_mul_mat(ctx, k, q);
            ggml_prec_set_acc(kq, GGML_PREC_F32());
            kq = ggml_soft_max_ext(ctx, kq, mask, kqScale, 0f);
            MemorySegment vt = ggml_cont(ctx, ggml_transpose(ctx, v));
            cur = ggml_permute(ctx, ggml_mul_mat(ctx, vt, kq), 0, 2, 1, 3);
            cur = ggml_cont_2d(ctx, cur, hp.nEmbdQ(), n);
        }
        ggml_build_forward_expand(graph, cur);
        return cur;
    }
}

package dev.catena.ffm.span;

import dev.catena.ffm.internal.ggml_tensor;
import dev.catena.ffm.model.ModelHparams;

import java.lang.foreign.MemorySegment;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * A block's ops, op for op as llama.cpp's llama and qwen2 graphs (llm_build_llama, build_qkv,
 * build_attn, build_ffn), shared by the solo step's graph ({@link BlockGraph}) and the batch's
 * ({@link BatchGraph}): both differ only in how keys and values reach the caches and how attention
 * splits the rows, so the same kernels see the same shapes and the results agree with llama.cpp's.
 */
final class LayerOps {
    // llama.cpp's defaults for models without YaRN: ext_factor 0, attn_factor 1, beta_fast 32, beta_slow 1.
    private static final float EXT_FACTOR = 0f;
    private static final float ATTN_FACTOR = 1f;
    private static final float BETA_FAST = 32f;
    private static final float BETA_SLOW = 1f;

    /** A graph's inputs common to both: the rows' hidden states, their positions and their cache cells. */
    record Inputs(MemorySegment hidden, MemorySegment positions, MemorySegment kvIndices) {
    }

    /** A layer's queries, keys and values ({@code [headDim, heads, n]}), roped. */
    record Qkv(MemorySegment q, MemorySegment k, MemorySegment v) {
    }

    private LayerOps() {
    }

    static Inputs inputs(MemorySegment ctx, ModelHparams hp, int n) {
        MemorySegment input = ggml_new_tensor_2d(ctx, GGML_TYPE_F32(), hp.nEmbd(), n);
        ggml_set_input(input);
        MemorySegment positions = ggml_new_tensor_1d(ctx, GGML_TYPE_I32(), n);
        ggml_set_input(positions);
        MemorySegment kvIndices = ggml_new_tensor_1d(ctx, GGML_TYPE_I64(), n);
        ggml_set_input(kvIndices);
        return new Inputs(input, positions, kvIndices);
    }

    /** A causal mask input of {@code rows} rows over {@code nKv} cells (F16 for flash attention, as llama.cpp). */
    static MemorySegment mask(MemorySegment ctx, int nKv, int rows, boolean flash) {
        MemorySegment mask = ggml_new_tensor_4d(ctx, flash ? GGML_TYPE_F16() : GGML_TYPE_F32(), nKv, rows, 1, 1);
        ggml_set_input(mask);
        return mask;
    }

    /** The output rows input (llama.cpp's inp_out_ids), or NULL when every row is output. */
    static MemorySegment outputRows(MemorySegment ctx, int outputs, int n) {
        if (outputs >= n) {
            return MemorySegment.NULL;
        }
        MemorySegment rows = ggml_new_tensor_1d(ctx, GGML_TYPE_I32(), outputs);
        ggml_set_input(rows);
        return rows;
    }

    /** Attention norm, q/k/v projections and rope, expanded in llama.cpp's order (q, v, k) so the node order matches. */
    static Qkv qkv(MemorySegment ctx, MemorySegment graph, ModelHparams hp, LayerWeights w, MemorySegment inpL, int n,
                   MemorySegment positions, MemorySegment ropeFactors) {
        MemorySegment cur = ggml_mul(ctx, ggml_rms_norm(ctx, inpL, hp.rmsEps()), w.attnNorm());
        MemorySegment q = ggml_reshape_3d(ctx, linear(ctx, w.wq(), w.bq(), cur), hp.headDim(), hp.nHead(), n);
        MemorySegment k = ggml_reshape_3d(ctx, linear(ctx, w.wk(), w.bk(), cur), hp.headDim(), hp.nHeadKv(), n);
        MemorySegment v = ggml_reshape_3d(ctx, linear(ctx, w.wv(), w.bv(), cur), hp.headDim(), hp.nHeadKv(), n);
        q = rope(ctx, q, positions, ropeFactors, hp);
        k = rope(ctx, k, positions, ropeFactors, hp);
        ggml_build_forward_expand(graph, q);
        ggml_build_forward_expand(graph, v);
        ggml_build_forward_expand(graph, k);
        return new Qkv(q, k, v);
    }

    /** Rows {@code [first, first + count)} of {@code [headDim, heads, n]} as {@code [headDim * heads, count]} cache rows (cpy_k). */
    static MemorySegment cacheRows(MemorySegment ctx, MemorySegment x, ModelHparams hp, int first, int count) {
        return ggml_view_2d(ctx, x, hp.nEmbdKvGqa(), count, ggml_tensor.nb(x, 2), first * ggml_tensor.nb(x, 2));
    }

    /**
     * The rest of the block after attention: output projection, then (with {@code outputRows}, in the
     * last block) only those rows on, the residual, and the feed-forward with its residual.
     */
    static MemorySegment outputAndFfn(MemorySegment ctx, ModelHparams hp, LayerWeights w, MemorySegment heads,
                                      MemorySegment inpSA, MemorySegment outputRows) {
        MemorySegment cur = linear(ctx, w.wo(), w.bo(), heads);
        if (outputRows != null && !outputRows.equals(MemorySegment.NULL)) {
            cur = ggml_get_rows(ctx, cur, outputRows);
            inpSA = ggml_get_rows(ctx, inpSA, outputRows);
        }
        MemorySegment ffnInp = ggml_add(ctx, cur, inpSA);
        cur = ggml_mul(ctx, ggml_rms_norm(ctx, ffnInp, hp.rmsEps()), w.ffnNorm());
        MemorySegment up = linear(ctx, w.wUp(), w.bUp(), cur);
        MemorySegment gate = linear(ctx, w.wGate(), w.bGate(), cur);
        cur = linear(ctx, w.wDown(), w.bDown(), ggml_swiglu_split(ctx, gate, up));
        return ggml_add(ctx, cur, ffnInp);
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

    /** One session's rows attending to its cache: flash attention over F16, else mul_mat + soft_max (llama.cpp's build_attn_mha). */
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

    static float kqScale(ModelHparams hp) {
        return (float) (1.0 / Math.sqrt(hp.headDim()));
    }
}

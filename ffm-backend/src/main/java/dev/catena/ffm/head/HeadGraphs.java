package dev.catena.ffm.head;

import dev.catena.ffm.ggml.GraphRunner;

import java.lang.foreign.MemorySegment;

import static dev.catena.ffm.internal.ggml_h.*;

/** The client's two graphs, as llama.cpp builds them around the blocks (build_inp_embd and the output head). */
final class HeadGraphs {
    private HeadGraphs() {
    }

    record Embed(MemorySegment graph, MemorySegment ids, MemorySegment output) implements GraphRunner.Step {
    }

    record Logits(MemorySegment graph, MemorySegment hidden, MemorySegment rows, MemorySegment output)
            implements GraphRunner.Step {
    }

    /** Rows of the embedding matrix for {@code n} token ids, dequantised to F32 {@code [nEmbd, n]}. */
    static Embed embed(MemorySegment ctx, MemorySegment tokenEmbd, int n) {
        MemorySegment ids = ggml_new_tensor_1d(ctx, GGML_TYPE_I32(), n);
        ggml_set_input(ids);
        MemorySegment rows = ggml_get_rows(ctx, tokenEmbd, ids);
        ggml_set_output(rows);
        MemorySegment graph = ggml_new_graph_custom(ctx, 8, false);
        ggml_build_forward_expand(graph, rows);
        return new Embed(graph, ids, rows);
    }

    /** Final RMS norm and LM head on {@code m} of the {@code n} rows of {@code hidden [nEmbd, n]}. */
    static Logits logits(MemorySegment ctx, MemorySegment outputNorm, MemorySegment output, float eps, int nEmbd,
                         int n, int m) {
        MemorySegment hidden = ggml_new_tensor_2d(ctx, GGML_TYPE_F32(), nEmbd, n);
        ggml_set_input(hidden);
        MemorySegment rows = ggml_new_tensor_1d(ctx, GGML_TYPE_I32(), m);
        ggml_set_input(rows);
        MemorySegment cur = ggml_get_rows(ctx, hidden, rows);
        cur = ggml_mul(ctx, ggml_rms_norm(ctx, cur, eps), outputNorm);
        cur = ggml_mul_mat(ctx, output, cur);
        ggml_set_output(cur);
        MemorySegment graph = ggml_new_graph_custom(ctx, 16, false);
        ggml_build_forward_expand(graph, cur);
        return new Logits(graph, hidden, rows, cur);
    }
}

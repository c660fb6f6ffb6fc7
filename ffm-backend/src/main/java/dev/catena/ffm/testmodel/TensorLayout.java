package dev.catena.ffm.testmodel;

import dev.catena.ffm.testmodel.ModelSpec.Init;
import dev.catena.ffm.testmodel.ModelSpec.TensorSpec;
import dev.catena.ffm.testmodel.ModelSpec.WeightType;

import java.util.ArrayList;
import java.util.List;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * The tensors of a {@link ModelSpec}'s model as llama.cpp names and lays them out, the type each is stored
 * as, and the distribution its values are drawn from.
 */
final class TensorLayout {
    private TensorLayout() {
    }

    /** See {@link ModelSpec#tensorType}. */
    static int tensorType(WeightType weightType, long ne0, int nDims) {
        if (nDims == 1) {
            return GGML_TYPE_F32();
        }
        if (ne0 % weightType.blockSize() == 0) {
            return weightType.ggmlType();
        }
        int fallback = switch (weightType) {
            case Q4_K -> GGML_TYPE_Q5_0();
            case Q6_K -> GGML_TYPE_Q8_0();
            default -> weightType.ggmlType(); // already a 32-block type: only F16 remains
        };
        return ne0 % 32 == 0 && fallback != weightType.ggmlType() ? fallback : GGML_TYPE_F16();
    }

    /** See {@link ModelSpec#tensors}. */
    static List<TensorSpec> tensors(ModelSpec spec, long nVocab) {
        if (nVocab < 1) {
            throw new IllegalArgumentException("nVocab must be positive, not " + nVocab);
        }
        int nEmbd = spec.nEmbd();
        int nEmbdKv = spec.nEmbdKv();
        int nFf = spec.nFf();
        WeightType type = spec.weightType();
        var norm = new Init(1.0, 0.1);
        var bias = new Init(0.0, 0.5);
        List<TensorSpec> out = new ArrayList<>();
        // 1/sqrt(sqrt(n)): correctly rounded everywhere (unlike pow), so the bytes are the same on every JVM.
        var outputInit = new Init(0.0, 1.0 / Math.sqrt(Math.sqrt(nEmbd)));
        out.add(matrix(type, "token_embd.weight", nEmbd, nVocab, spec.tiedOutput() ? outputInit : new Init(0.0, 1.0)));
        for (int i = 0; i < spec.nLayer(); i++) {
            String b = "blk." + i + ".";
            out.add(vector(b + "attn_norm.weight", nEmbd, norm));
            out.add(matrix(type, b + "attn_q.weight", nEmbd, nEmbd, null));
            if (spec.qkvBias()) out.add(vector(b + "attn_q.bias", nEmbd, bias));
            out.add(matrix(type, b + "attn_k.weight", nEmbd, nEmbdKv, null));
            if (spec.qkvBias()) out.add(vector(b + "attn_k.bias", nEmbdKv, bias));
            out.add(matrix(type, b + "attn_v.weight", nEmbd, nEmbdKv, null));
            if (spec.qkvBias()) out.add(vector(b + "attn_v.bias", nEmbdKv, bias));
            out.add(matrix(type, b + "attn_output.weight", nEmbd, nEmbd, null));
            out.add(vector(b + "ffn_norm.weight", nEmbd, norm));
            out.add(matrix(type, b + "ffn_gate.weight", nEmbd, nFf, null));
            out.add(matrix(type, b + "ffn_up.weight", nEmbd, nFf, null));
            out.add(matrix(type, b + "ffn_down.weight", nFf, nEmbd, null));
        }
        out.add(vector("output_norm.weight", nEmbd, norm));
        if (!spec.tiedOutput()) {
            out.add(matrix(type, "output.weight", nEmbd, nVocab, outputInit));
        }
        return out;
    }

    private static TensorSpec matrix(WeightType type, String name, long ne0, long ne1, Init init) {
        Init i = init != null ? init : new Init(0.0, 1.0 / Math.sqrt(ne0));
        return new TensorSpec(name, new long[] {ne0, ne1}, tensorType(type, ne0, 2), i);
    }

    private static TensorSpec vector(String name, long ne0, Init init) {
        return new TensorSpec(name, new long[] {ne0}, GGML_TYPE_F32(), init);
    }
}

package dev.catena.ffm.span;

import dev.catena.ffm.model.Weights;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/** One block's tensors (null where the model has no such bias), by llama.cpp's GGUF names. */
record LayerWeights(MemorySegment attnNorm, MemorySegment wq, MemorySegment wk, MemorySegment wv, MemorySegment wo,
                    MemorySegment bq, MemorySegment bk, MemorySegment bv, MemorySegment bo,
                    MemorySegment ffnNorm, MemorySegment wGate, MemorySegment wUp, MemorySegment wDown,
                    MemorySegment bGate, MemorySegment bUp, MemorySegment bDown) {

    static final List<String> MATRICES = List.of("attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight",
            "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight");
    static final List<String> REQUIRED = List.of("attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight",
            "attn_output.weight", "ffn_norm.weight", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight");
    static final List<String> OPTIONAL = List.of("attn_q.bias", "attn_k.bias", "attn_v.bias", "attn_output.bias",
            "ffn_gate.bias", "ffn_up.bias", "ffn_down.bias");

    static String name(int layer, String suffix) {
        return "blk." + layer + "." + suffix;
    }

    /** The names of block {@code layer}'s tensors that {@code present} holds. */
    static List<String> names(int layer, java.util.function.Predicate<String> present) {
        List<String> names = new ArrayList<>();
        for (String s : REQUIRED) {
            names.add(name(layer, s));
        }
        for (String s : OPTIONAL) {
            if (present.test(name(layer, s))) {
                names.add(name(layer, s));
            }
        }
        return names;
    }

    static LayerWeights of(Weights w, int layer) {
        return new LayerWeights(w.get(name(layer, "attn_norm.weight")), w.get(name(layer, "attn_q.weight")),
                w.get(name(layer, "attn_k.weight")), w.get(name(layer, "attn_v.weight")),
                w.get(name(layer, "attn_output.weight")), opt(w, layer, "attn_q.bias"), opt(w, layer, "attn_k.bias"),
                opt(w, layer, "attn_v.bias"), opt(w, layer, "attn_output.bias"), w.get(name(layer, "ffn_norm.weight")),
                w.get(name(layer, "ffn_gate.weight")), w.get(name(layer, "ffn_up.weight")),
                w.get(name(layer, "ffn_down.weight")), opt(w, layer, "ffn_gate.bias"), opt(w, layer, "ffn_up.bias"),
                opt(w, layer, "ffn_down.bias"));
    }

    private static MemorySegment opt(Weights w, int layer, String suffix) {
        return w.find(name(layer, suffix)).orElse(null);
    }
}

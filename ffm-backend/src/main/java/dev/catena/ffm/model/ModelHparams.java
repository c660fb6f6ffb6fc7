package dev.catena.ffm.model;

import dev.catena.api.ModelFormatException;
import dev.catena.api.UnsupportedModelException;
import dev.catena.ffm.gguf.GgufArray;
import dev.catena.ffm.gguf.GgufFile;

import java.util.Optional;
import java.util.Set;

import static dev.catena.ffm.internal.ggml_h.GGML_ROPE_TYPE_NEOX;
import static dev.catena.ffm.internal.ggml_h.GGML_ROPE_TYPE_NORMAL;

/**
 * The hyper-parameters a block graph needs, read from GGUF metadata with llama.cpp's key names
 * and defaults, for the architectures Catena runs.
 *
 * @param headDim    per-head size of Q and K (and V): {@code <arch>.attention.key_length}, else nEmbd / nHead
 * @param nRot       rotated dimensions per head ({@code <arch>.rope.dimension_count}, else headDim)
 * @param ropeType   ggml's rope mode: NORMAL (adjacent pairs, llama) or NEOX (halves, qwen2)
 * @param freqScale  1 / linear rope scaling factor (1 when unscaled)
 */
public record ModelHparams(String architecture, int nLayer, int nEmbd, int nHead, int nHeadKv, int headDim,
                           int nFf, int nVocab, int nCtxTrain, float rmsEps, int nRot, int ropeType,
                           float freqBase, float freqScale) {

    /** Architectures whose block graph Catena builds (llama.cpp's llama and qwen2 graphs). */
    public static final Set<String> SUPPORTED = Set.of("llama", "qwen2");

    public int nEmbdKvGqa() {
        return headDim * nHeadKv;
    }

    public int nEmbdQ() {
        return headDim * nHead;
    }

    public static ModelHparams of(GgufFile f) {
        String arch = f.string("general.architecture")
                .orElseThrow(() -> new ModelFormatException(f.path(), "no general.architecture key: not a model file"));
        if (!SUPPORTED.contains(arch)) {
            throw new UnsupportedModelException(f.path(), "architecture '" + arch + "' is not supported (supported: "
                    + String.join(", ", SUPPORTED.stream().sorted().toList()) + ")");
        }
        int nEmbd = required(f, arch + ".embedding_length");
        int nHead = required(f, arch + ".attention.head_count");
        int nHeadKv = optional(f, arch + ".attention.head_count_kv").orElse(nHead);
        if (nHead <= 0 || nHeadKv <= 0 || nHead % nHeadKv != 0) {
            throw new ModelFormatException(f.path(), "head_count " + nHead + " is not a multiple of head_count_kv " + nHeadKv);
        }
        int headDim = optional(f, arch + ".attention.key_length").orElse(nEmbd / nHead);
        int headDimV = optional(f, arch + ".attention.value_length").orElse(headDim);
        if (headDimV != headDim) {
            throw new UnsupportedModelException(f.path(), "key_length " + headDim + " != value_length " + headDimV);
        }
        String scaling = f.string(arch + ".rope.scaling.type").orElse("none");
        if (!scaling.equals("none") && !scaling.equals("linear")) {
            throw new UnsupportedModelException(f.path(), "rope scaling '" + scaling + "' is not supported (none, linear)");
        }
        float factor = number(f, arch + ".rope.scaling.factor").or(() -> number(f, arch + ".rope.scale_linear")).orElse(0f);
        int nRot = optional(f, arch + ".rope.dimension_count").orElse(headDim);
        return new ModelHparams(arch, required(f, arch + ".block_count"), nEmbd, nHead, nHeadKv, headDim,
                required(f, arch + ".feed_forward_length"), vocabSize(f, arch), optional(f, arch + ".context_length").orElse(0),
                number(f, arch + ".attention.layer_norm_rms_epsilon").orElse(1e-5f), nRot,
                arch.equals("qwen2") ? GGML_ROPE_TYPE_NEOX() : GGML_ROPE_TYPE_NORMAL(),
                number(f, arch + ".rope.freq_base").orElse(10000f), factor == 0f ? 1f : 1f / factor);
    }

    private static int required(GgufFile f, String key) {
        return optional(f, key).orElseThrow(() -> new ModelFormatException(f.path(), "missing metadata key " + key));
    }

    private static Optional<Integer> optional(GgufFile f, String key) {
        return f.integer(key).map(Math::toIntExact);
    }

    private static Optional<Float> number(GgufFile f, String key) {
        return f.metadata().get(key) instanceof Number n ? Optional.of(n.floatValue()) : Optional.empty();
    }

    /** The tokenizer's token count, else {@code <arch>.vocab_size}, else the embedding matrix's rows. */
    public static int vocabSize(GgufFile f, String arch) {
        if (f.metadata().get("tokenizer.ggml.tokens") instanceof GgufArray tokens) {
            return Math.toIntExact(tokens.length());
        }
        return optional(f, arch + ".vocab_size")
                .orElseGet(() -> f.tensor("token_embd.weight").map(t -> (int) t.ne()[1]).orElse(0));
    }
}

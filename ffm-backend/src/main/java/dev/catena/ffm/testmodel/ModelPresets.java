package dev.catena.ffm.testmodel;

import dev.catena.ffm.testmodel.ModelSpec.Architecture;
import dev.catena.ffm.testmodel.ModelSpec.Vocab;
import dev.catena.ffm.testmodel.ModelSpec.WeightType;

import java.util.List;
import java.util.Locale;

import static dev.catena.ffm.testmodel.ModelSpec.PRESET_SEED;

/**
 * The named test models: small ones that each exercise one thing llama.cpp must get right (GQA, head size
 * 128, Q4_K, Qwen2's biases, odd layer counts), and the shapes of real Llama models for benchmarks.
 * {@link ModelSpec}'s static methods of the same names return these.
 */
final class ModelPresets {
    private ModelPresets() {
    }

    /**
     * Llama, GQA 4:1 with head size 64 (8 query, 2 KV heads), 4 layers, n_embd 512, n_ff 1024, Llama 3's
     * BPE vocabulary (128256 tokens), Q8_0, tied embeddings. 87 MB.
     */
    static ModelSpec tinyLlamaGqa() {
        return new ModelSpec("tiny-llama-gqa", Architecture.LLAMA, 4, 512, 8, 2, 1024, 2048, 500000f, 1e-5f,
                WeightType.Q8_0, Vocab.LLAMA_BPE, false, true, PRESET_SEED);
    }

    /**
     * Llama with head size 128 (4 query, 2 KV heads, n_embd 512), 2 layers, n_ff 1536, Q8_0, Llama 2's
     * SentencePiece vocabulary (32000 tokens), a separate output matrix, rope base 10000. 42 MB.
     */
    static ModelSpec headDim128Q8() {
        return new ModelSpec("head-dim-128-q8", Architecture.LLAMA, 2, 512, 4, 2, 1536, 4096, 10000f, 1e-5f,
                WeightType.Q8_0, Vocab.LLAMA_SPM, false, false, PRESET_SEED);
    }

    /**
     * Llama with Q4_K weights whose every row length is a multiple of 256 (n_embd 512, n_ff 1536), so no
     * tensor falls back: 3 layers, 8 query and 4 KV heads (head size 64), Llama 2's vocabulary, tied. 15 MB.
     */
    static ModelSpec q4k() {
        return new ModelSpec("q4k", Architecture.LLAMA, 3, 512, 8, 4, 1536, 2048, 500000f, 1e-5f,
                WeightType.Q4_K, Vocab.LLAMA_SPM, false, true, PRESET_SEED);
    }

    /**
     * Qwen2 with Q, K and V biases, Qwen2's vocabulary (151936 tokens), F16, tied embeddings (as Qwen2-0.5B):
     * 3 layers, n_embd 256, 4 query and 2 KV heads (head size 64), n_ff 768, rope base 1e6, eps 1e-6. 88 MB.
     */
    static ModelSpec qwen2Biases() {
        return new ModelSpec("qwen2-biases", Architecture.QWEN2, 3, 256, 4, 2, 768, 32768, 1000000f, 1e-6f,
                WeightType.F16, Vocab.QWEN2, true, true, PRESET_SEED);
    }

    /**
     * Llama with 5 layers (for uneven span splits), plain multi-head attention (4 heads of 64), Q6_K, Llama 2's
     * vocabulary, separate output. n_ff 704 is not a multiple of 256, so {@code ffn_down} (rows of 704) falls
     * back to Q8_0 as llama.cpp's quantizer does. 18 MB.
     */
    static ModelSpec oddLayers() {
        return new ModelSpec("odd-layers", Architecture.LLAMA, 5, 256, 4, 4, 704, 2048, 10000f, 1e-5f,
                WeightType.Q6_K, Vocab.LLAMA_SPM, false, false, PRESET_SEED);
    }

    /**
     * Llama-3.2-1B's shapes: 16 layers, n_embd 2048, 32 query and 8 KV heads (head size 64), n_ff 8192, Llama 3's
     * vocabulary, rope base 500000, tied embeddings (no llama3 rope scaling / rope_freqs). Q8_0: 1.32 GB, about
     * 15 s to generate on two cores; Q4_K: 0.70 GB, about 100 s (ggml's Q4_K quantizer is slow).
     */
    static ModelSpec llama32_1B(WeightType type) {
        return new ModelSpec("llama-3.2-1b-" + suffix(type),
                Architecture.LLAMA, 16, 2048, 32, 8, 8192, 131072, 500000f, 1e-5f,
                type, Vocab.LLAMA_BPE, false, true, PRESET_SEED);
    }

    /**
     * Llama-3.1-8B's shapes: 32 layers, n_embd 4096, 32 query and 8 KV heads (head size 128), n_ff 14336, Llama 3's
     * vocabulary, rope base 500000, a separate output matrix (no llama3 rope scaling / rope_freqs). Q8_0: about
     * 8.5 GB; Q4_K: about 4.6 GB. Every row length is a multiple of 256, so no tensor falls back.
     */
    static ModelSpec llama31_8B(WeightType type) {
        return new ModelSpec("llama-3.1-8b-" + suffix(type),
                Architecture.LLAMA, 32, 4096, 32, 8, 14336, 131072, 500000f, 1e-5f,
                type, Vocab.LLAMA_BPE, false, false, PRESET_SEED);
    }

    /** {@code Q4_K} as {@code q4-k}, for preset names. */
    private static String suffix(WeightType type) {
        return type.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The small presets (each well under 100 MB). */
    static List<ModelSpec> smallPresets() {
        return List.of(tinyLlamaGqa(), headDim128Q8(), q4k(), qwen2Biases(), oddLayers());
    }

}

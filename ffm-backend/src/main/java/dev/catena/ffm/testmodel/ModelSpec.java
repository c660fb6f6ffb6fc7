package dev.catena.ffm.testmodel;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import static dev.catena.ffm.internal.ggml_h.*;
import static dev.catena.ffm.internal.llama_h.*;

/**
 * The shape of a random-weight test model: llama.cpp's {@code llama} or {@code qwen2} architecture with
 * real hyper-parameters, real quantization and a real vocabulary (one of llama.cpp's vocabulary-only GGUFs).
 * {@link TestModelWriter} turns it into a GGUF file, {@link TestModelCache} keeps those files on disk.
 *
 * <p>Every 2-D weight has {@link #weightType()}; norms and biases are always F32, as llama.cpp's quantizer
 * leaves them. A weight whose row length is not a multiple of the type's block falls back the way
 * llama.cpp's quantizer does ({@link #tensorType}): Q4_K to Q5_0, Q6_K to Q8_0, and to F16 when even a
 * 32-element block does not fit.
 *
 * @param name         {@code general.name} and the start of the cached file's name ({@code [A-Za-z0-9._-]+})
 * @param nLayer       transformer blocks ({@code <arch>.block_count})
 * @param nEmbd        hidden size; {@code nEmbd / nHead} is the head size, which must be even (RoPE)
 * @param nHead        query heads
 * @param nHeadKv      key/value heads; {@code nHead / nHeadKv} queries share one (GQA)
 * @param nFf          feed-forward (SwiGLU) size
 * @param nCtxTrain    {@code <arch>.context_length}
 * @param ropeFreqBase {@code <arch>.rope.freq_base}
 * @param rmsEps       {@code <arch>.attention.layer_norm_rms_epsilon}
 * @param vocab        which of llama.cpp's vocabularies; the model's n_vocab is its token count
 * @param qkvBias      Q, K and V biases ({@code blk.N.attn_{q,k,v}.bias}), as Qwen2 has
 * @param tiedOutput   no {@code output.weight}: llama.cpp uses {@code token_embd.weight} for the output too
 * @param seed         the weights are a function of (seed, tensor name, row) only
 */
public record ModelSpec(String name, Architecture architecture, int nLayer, int nEmbd, int nHead, int nHeadKv, int nFf,
                        int nCtxTrain, float ropeFreqBase, float rmsEps, WeightType weightType, Vocab vocab,
                        boolean qkvBias, boolean tiedOutput, long seed) {

    /** llama.cpp's own limit (LLAMA_MAX_LAYERS). */
    public static final int MAX_LAYERS = 512;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]+");

    /** The architectures llama.cpp loads these files as ({@code general.architecture}). */
    public enum Architecture {
        LLAMA("llama"), QWEN2("qwen2");

        private final String ggufName;

        Architecture(String ggufName) {
            this.ggufName = ggufName;
        }

        /** The value of {@code general.architecture} and the prefix of the hyper-parameter keys. */
        public String ggufName() {
            return ggufName;
        }
    }

    /** The vocabulary-only GGUFs of llama.cpp's {@code models/} folder (fetched by scripts/fetch-llama.sh). */
    public enum Vocab {
        /** Llama 3's BPE tokenizer, 128256 tokens. */
        LLAMA_BPE("ggml-vocab-llama-bpe.gguf"),
        /** Llama 2's SentencePiece tokenizer, 32000 tokens. */
        LLAMA_SPM("ggml-vocab-llama-spm.gguf"),
        /** Qwen2's BPE tokenizer, 151936 tokens. */
        QWEN2("ggml-vocab-qwen2.gguf");

        private final String fileName;

        Vocab(String fileName) {
            this.fileName = fileName;
        }

        public String fileName() {
            return fileName;
        }
    }

    /** The weight types a spec may ask for, with their ggml type and llama.cpp's {@code general.file_type}. */
    public enum WeightType {
        F32(GGML_TYPE_F32(), 1, LLAMA_FTYPE_ALL_F32()),
        F16(GGML_TYPE_F16(), 1, LLAMA_FTYPE_MOSTLY_F16()),
        BF16(GGML_TYPE_BF16(), 1, LLAMA_FTYPE_MOSTLY_BF16()),
        Q8_0(GGML_TYPE_Q8_0(), 32, LLAMA_FTYPE_MOSTLY_Q8_0()),
        Q4_0(GGML_TYPE_Q4_0(), 32, LLAMA_FTYPE_MOSTLY_Q4_0()),
        /** Written as llama-quantize writes "Q4_K" (an alias of Q4_K_M) with --pure: file type Q4_K_M. */
        Q4_K(GGML_TYPE_Q4_K(), 256, LLAMA_FTYPE_MOSTLY_Q4_K_M()),
        Q6_K(GGML_TYPE_Q6_K(), 256, LLAMA_FTYPE_MOSTLY_Q6_K());

        private final int ggmlType;
        private final int blockSize;
        private final int llamaFileType;

        WeightType(int ggmlType, int blockSize, int llamaFileType) {
            this.ggmlType = ggmlType;
            this.blockSize = blockSize;
            this.llamaFileType = llamaFileType;
        }

        public int ggmlType() {
            return ggmlType;
        }

        /** Elements per quantization block: a row's length must be a multiple of it. */
        public int blockSize() {
            return blockSize;
        }

        /** The {@code llama_ftype} for {@code general.file_type}. */
        public int llamaFileType() {
            return llamaFileType;
        }
    }

    /** How a tensor's values are drawn: approximately normal with this mean and standard deviation. */
    public record Init(double mean, double std) {
    }

    /**
     * One tensor of the model, in file order.
     *
     * @param ne       shape in ggml order (ne[0] is the row length, the input dimension of a matrix)
     * @param ggmlType the stored type, after {@link #tensorType}
     */
    public record TensorSpec(String name, long[] ne, int ggmlType, Init init) {
        public TensorSpec {
            ne = ne.clone();
        }

        @Override
        public long[] ne() {
            return ne.clone();
        }

        public long elements() {
            long n = 1;
            for (long d : ne) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }

        public long rowLength() {
            return ne[0];
        }

        public long rows() {
            return elements() / ne[0];
        }
    }

    public ModelSpec {
        List<String> errors = new ArrayList<>();
        if (name == null || !NAME.matcher(name).matches()) {
            errors.add("name must match " + NAME + " (it names the file), not " + quoted(name));
        }
        if (architecture == null) errors.add("architecture is missing");
        if (weightType == null) errors.add("weightType is missing");
        if (vocab == null) errors.add("vocab is missing");
        if (nLayer < 1 || nLayer > MAX_LAYERS) errors.add("nLayer must be in 1.." + MAX_LAYERS + ", not " + nLayer);
        if (nEmbd < 1) errors.add("nEmbd must be positive, not " + nEmbd);
        if (nHead < 1) errors.add("nHead must be positive, not " + nHead);
        if (nHeadKv < 1) errors.add("nHeadKv must be positive, not " + nHeadKv);
        if (nFf < 1) errors.add("nFf must be positive, not " + nFf);
        if (nCtxTrain < 1) errors.add("nCtxTrain must be positive, not " + nCtxTrain);
        if (!(ropeFreqBase > 0) || Float.isInfinite(ropeFreqBase)) {
            errors.add("ropeFreqBase must be positive and finite, not " + ropeFreqBase);
        }
        if (!(rmsEps > 0) || Float.isInfinite(rmsEps)) errors.add("rmsEps must be positive and finite, not " + rmsEps);
        if (nEmbd >= 1 && nHead >= 1) {
            if (nEmbd % nHead != 0) {
                errors.add("nEmbd (" + nEmbd + ") must be a multiple of nHead (" + nHead + "): head size = nEmbd / nHead");
            } else if ((nEmbd / nHead) % 2 != 0) {
                errors.add("head size nEmbd / nHead = " + nEmbd / nHead + " must be even (RoPE rotates pairs)");
            }
        }
        if (nHead >= 1 && nHeadKv >= 1 && nHead % nHeadKv != 0) {
            errors.add("nHead (" + nHead + ") must be a multiple of nHeadKv (" + nHeadKv + ")");
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("invalid model spec " + quoted(name) + ": " + String.join("; ", errors));
        }
    }

    // --- presets (in ModelPresets) -------------------------------------------------------------------------

    /** Default seed of the presets. */
    public static final long PRESET_SEED = 20250101L;

    /** Llama, GQA 4:1 with head size 64, 4 layers, n_embd 512, Llama 3's vocabulary, Q8_0, tied. 87 MB. */
    public static ModelSpec tinyLlamaGqa() {
        return ModelPresets.tinyLlamaGqa();
    }

    /** Llama with head size 128, 2 layers, Q8_0, Llama 2's vocabulary, a separate output matrix. 42 MB. */
    public static ModelSpec headDim128Q8() {
        return ModelPresets.headDim128Q8();
    }

    /** Llama with Q4_K weights whose every row length is a multiple of 256, 3 layers, tied. 15 MB. */
    public static ModelSpec q4k() {
        return ModelPresets.q4k();
    }

    /** Qwen2 with Q, K and V biases, Qwen2's vocabulary, F16, tied, 3 layers. 88 MB. */
    public static ModelSpec qwen2Biases() {
        return ModelPresets.qwen2Biases();
    }

    /** Llama with 5 layers, plain multi-head attention, Q6_K (ffn_down falls back to Q8_0). 18 MB. */
    public static ModelSpec oddLayers() {
        return ModelPresets.oddLayers();
    }

    /** Llama-3.2-1B's shapes (16 layers, n_embd 2048) with random weights of {@code type}. */
    public static ModelSpec llama32_1B(WeightType type) {
        return ModelPresets.llama32_1B(type);
    }

    /** Llama-3.1-8B's shapes (32 layers, n_embd 4096) with random weights of {@code type}. */
    public static ModelSpec llama31_8B(WeightType type) {
        return ModelPresets.llama31_8B(type);
    }

    /** The small presets (each well under 100 MB). */
    public static List<ModelSpec> smallPresets() {
        return ModelPresets.smallPresets();
    }

    /** The same shapes with {@code layers} blocks (named {@code <name>-<layers>l}): per-block speed at less file. */
    public ModelSpec withLayers(int layers) {
        return new ModelSpec(name + "-" + layers + "l", architecture, layers, nEmbd, nHead, nHeadKv, nFf, nCtxTrain,
                ropeFreqBase, rmsEps, weightType, vocab, qkvBias, tiedOutput, seed);
    }

    public ModelSpec withSeed(long newSeed) {
        return new ModelSpec(name, architecture, nLayer, nEmbd, nHead, nHeadKv, nFf, nCtxTrain, ropeFreqBase, rmsEps,
                weightType, vocab, qkvBias, tiedOutput, newSeed);
    }

    public ModelSpec withWeightType(WeightType type) {
        return new ModelSpec(name, architecture, nLayer, nEmbd, nHead, nHeadKv, nFf, nCtxTrain, ropeFreqBase, rmsEps,
                type, vocab, qkvBias, tiedOutput, seed);
    }

    public ModelSpec withName(String newName) {
        return new ModelSpec(newName, architecture, nLayer, nEmbd, nHead, nHeadKv, nFf, nCtxTrain, ropeFreqBase, rmsEps,
                weightType, vocab, qkvBias, tiedOutput, seed);
    }

    // --- derived -------------------------------------------------------------------------------------------

    public int headDim() {
        return nEmbd / nHead;
    }

    /** Width of K and V: {@code nHeadKv * headDim}. */
    public int nEmbdKv() {
        return nHeadKv * headDim();
    }

    /**
     * The type a tensor is stored as: F32 for 1-D tensors (norms, biases); else the weight type, falling back
     * like llama.cpp's quantizer ({@code tensor_type_fallback} in src/llama-quant.cpp) when the row length
     * {@code ne0} is not a multiple of the type's block: Q4_K to Q5_0, Q6_K to Q8_0, then F16 when a
     * 32-block does not fit either.
     */
    public static int tensorType(WeightType weightType, long ne0, int nDims) {
        return TensorLayout.tensorType(weightType, ne0, nDims);
    }

    /**
     * Every tensor, in file order: {@code token_embd}, then per block attn_norm, attn_q, attn_k, attn_v (each
     * followed by its bias when {@link #qkvBias}), attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down, then
     * {@code output_norm} and, unless tied, {@code output}.
     *
     * <p>Values (approximately normal, see {@link WeightRandom}): matrices N(0, 1/fan_in) (fan_in = ne[0]), so each
     * layer keeps activations near unit scale; norms N(1, 0.1^2); biases N(0, 0.5^2). {@code token_embd} is N(0, 1)
     * when it is only the input embedding; the output matrix ({@code output}, or {@code token_embd} when tied) has
     * std nEmbd^-1/4, so the logits' std is about nEmbd^1/4 (4.8 at 512, 6.7 at 2048) rather than sqrt(nEmbd) (45 at
     * 2048: a tied N(0, 1) embedding would make every softmax one-hot and every absolute logit error large).
     */
    public List<TensorSpec> tensors(long nVocab) {
        return TensorLayout.tensors(this, nVocab);
    }

    /** A stable text form of every field, for the cache key (independent of record toString). */
    String canonical() {
        return String.join(";", "name=" + name, "arch=" + architecture.ggufName(), "n_layer=" + nLayer,
                "n_embd=" + nEmbd, "n_head=" + nHead, "n_head_kv=" + nHeadKv, "n_ff=" + nFf, "n_ctx_train=" + nCtxTrain,
                "rope_freq_base=" + Integer.toHexString(Float.floatToIntBits(ropeFreqBase)),
                "rms_eps=" + Integer.toHexString(Float.floatToIntBits(rmsEps)), "type=" + weightType.name(),
                "vocab=" + vocab.fileName(), "qkv_bias=" + qkvBias, "tied=" + tiedOutput, "seed=" + seed);
    }

    private static String quoted(String s) {
        return s == null ? "null" : "'" + s + "'";
    }
}

package dev.catena.ffm.llama;

import dev.catena.api.spi.ReferenceOptions;
import dev.catena.api.spi.ReferenceOptions.FlashAttention;
import dev.catena.api.spi.SessionOptions.KvType;
import dev.catena.ffm.internal.ggml_h;
import dev.catena.ffm.internal.llama_context_params;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.catena.ffm.internal.llama_h.*;

/**
 * How {@link LlamaOracle} sets up llama.cpp's context. The defaults are llama.cpp's
 * ({@code llama_context_default_params}) except {@code nCtx}, which is 512 as in the reference
 * outputs of {@code models/}.
 *
 * @param nCtx           context length in tokens (>= 1)
 * @param threads        threads for decoding and prompt processing (>= 1); results do not depend on it
 * @param flashAttention llama.cpp's flash_attn_type; AUTO (its default) resolves to ON on the CPU
 * @param kvType         K and V cache element type (type_k, type_v); F16 is llama.cpp's default
 * @param nBatch         logical batch (tokens per llama_decode call); 0 = llama.cpp's default (2048,
 *                       which llama.cpp clamps to nCtx)
 * @param nUbatch        physical batch; 0 = llama.cpp's default (512)
 * @param device         where llama.cpp puts the model ({@link LlamaModel#load(java.nio.file.Path, int, String)}):
 *                       {@code cpu} (the default: no offload), {@code cuda} (every layer on the first GPU) or
 *                       {@code auto}
 * @param weights        how llama.cpp holds the weights: mapped (its default) or read into memory
 */
public record OracleOptions(int nCtx, int threads, FlashAttention flashAttention, KvType kvType, int nBatch, int nUbatch,
                            String device, WeightLoading weights) {

    public OracleOptions(int nCtx, int threads, FlashAttention flashAttention, KvType kvType, int nBatch, int nUbatch,
                         String device) {
        this(nCtx, threads, flashAttention, kvType, nBatch, nUbatch, device, WeightLoading.DEFAULT);
    }

    /** On the CPU. */
    public OracleOptions(int nCtx, int threads, FlashAttention flashAttention, KvType kvType, int nBatch, int nUbatch) {
        this(nCtx, threads, flashAttention, kvType, nBatch, nUbatch, "cpu");
    }

    public OracleOptions {
        if (device == null) {
            device = "cpu";
        }
        if (!device.equals("cpu") && !device.equals("cuda") && !device.equals("auto")) {
            throw new IllegalArgumentException("device must be cpu, cuda or auto, got '" + device + "'");
        }
        if (nCtx < 1) {
            throw new IllegalArgumentException("nCtx must be >= 1, got " + nCtx);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (nBatch < 0 || nUbatch < 0) {
            throw new IllegalArgumentException("nBatch and nUbatch must be >= 0 (0 = llama.cpp's default), got "
                    + nBatch + " and " + nUbatch);
        }
        if (flashAttention == null) {
            flashAttention = FlashAttention.AUTO;
        }
        if (kvType == null) {
            kvType = KvType.F16;
        }
        if (weights == null) {
            weights = WeightLoading.DEFAULT;
        }
    }

    /**
     * n_ctx 512, flash attention AUTO, F16 KV cache, llama.cpp's batch sizes, {@link #defaultThreads()}, on the CPU.
     */
    public static OracleOptions defaults() {
        return new OracleOptions(ReferenceOptions.DEFAULT_N_CTX, defaultThreads(), FlashAttention.AUTO, KvType.F16, 0, 0);
    }

    /**
     * Half the processors (about the physical cores, as llama.cpp picks), 1 to 4. ggml's threads
     * spin at every barrier, so oversubscribing a busy machine is ruinous: 2 threads on a 2-core
     * machine that was building at the same time took 1.9 s for 64 tokens of stories260K, 1 thread 15 ms.
     */
    public static int defaultThreads() {
        return Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() / 2));
    }

    /** The SPI's options, with llama.cpp's batch sizes, on the CPU. */
    public static OracleOptions from(ReferenceOptions o) {
        return new OracleOptions(o.nCtx(), o.threads(), o.flashAttention(), o.kvType(), 0, 0, o.device());
    }

    public OracleOptions withThreads(int threads) {
        return new OracleOptions(nCtx, threads, flashAttention, kvType, nBatch, nUbatch, device, weights);
    }

    public OracleOptions withNCtx(int nCtx) {
        return new OracleOptions(nCtx, threads, flashAttention, kvType, nBatch, nUbatch, device, weights);
    }

    public OracleOptions withFlashAttention(FlashAttention flashAttention) {
        return new OracleOptions(nCtx, threads, flashAttention, kvType, nBatch, nUbatch, device, weights);
    }

    public OracleOptions withKvType(KvType kvType) {
        return new OracleOptions(nCtx, threads, flashAttention, kvType, nBatch, nUbatch, device, weights);
    }

    public OracleOptions withBatch(int nBatch, int nUbatch) {
        return new OracleOptions(nCtx, threads, flashAttention, kvType, nBatch, nUbatch, device, weights);
    }

    public OracleOptions withDevice(String device) {
        return new OracleOptions(nCtx, threads, flashAttention, kvType, nBatch, nUbatch, device, weights);
    }

    public OracleOptions withWeights(WeightLoading weights) {
        return new OracleOptions(nCtx, threads, flashAttention, kvType, nBatch, nUbatch, device, weights);
    }

    /** These options as llama.cpp's {@code llama_context_params}, allocated in {@code arena}. */
    MemorySegment contextParams(Arena arena) {
        MemorySegment params = llama_context_default_params(arena);
        llama_context_params.n_ctx(params, nCtx());
        if (nBatch() > 0) {
            llama_context_params.n_batch(params, nBatch());
        }
        if (nUbatch() > 0) {
            llama_context_params.n_ubatch(params, nUbatch());
        }
        llama_context_params.n_threads(params, threads());
        llama_context_params.n_threads_batch(params, threads());
        llama_context_params.flash_attn_type(params, switch (flashAttention()) {
            case AUTO -> LLAMA_FLASH_ATTN_TYPE_AUTO();
            case ON -> LLAMA_FLASH_ATTN_TYPE_ENABLED();
            case OFF -> LLAMA_FLASH_ATTN_TYPE_DISABLED();
        });
        int kv = switch (kvType()) {
            case F16 -> ggml_h.GGML_TYPE_F16();
            case F32 -> ggml_h.GGML_TYPE_F32();
        };
        llama_context_params.type_k(params, kv);
        llama_context_params.type_v(params, kv);
        return params;
    }
}

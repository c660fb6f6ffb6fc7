package dev.catena.api.spi;

/**
 * How a {@link ReferenceDecoder} runs: the engine's own settings, so that its numerics can be
 * matched (or deliberately varied) by the decoder under test.
 *
 * @param threads        CPU threads (>= 1); results do not depend on it
 * @param nCtx           context length in tokens (>= 1): prompt plus generated tokens must fit
 * @param flashAttention the engine's attention kernel choice; {@code AUTO} is llama.cpp's default
 * @param kvType         element type of the KV cache; F16 is llama.cpp's default
 * @param device         where the engine runs the model: {@code cpu} (the default), {@code cuda} or {@code auto},
 *                       as {@link SpanOptions#device()}
 */
public record ReferenceOptions(int threads, int nCtx, FlashAttention flashAttention, SessionOptions.KvType kvType,
                               String device) {

    /** llama.cpp's own default context for the reference outputs in {@code models/}. */
    public static final int DEFAULT_N_CTX = 512;

    public ReferenceOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (nCtx < 1) {
            throw new IllegalArgumentException("nCtx must be >= 1, got " + nCtx);
        }
        if (flashAttention == null) {
            flashAttention = FlashAttention.AUTO;
        }
        if (kvType == null) {
            kvType = SessionOptions.KvType.F16;
        }
        if (device == null) {
            device = "cpu";
        }
    }

    /** On the CPU. */
    public ReferenceOptions(int threads, int nCtx, FlashAttention flashAttention, SessionOptions.KvType kvType) {
        this(threads, nCtx, flashAttention, kvType, "cpu");
    }

    /** llama.cpp's defaults (n_ctx 512, flash attention auto, F16 KV cache) with {@code threads} threads. */
    public static ReferenceOptions defaults(int threads) {
        return new ReferenceOptions(threads, DEFAULT_N_CTX, FlashAttention.AUTO, SessionOptions.KvType.F16);
    }

    /**
     * llama.cpp's {@code flash_attn_type}. {@code AUTO} turns it on when the device that holds a
     * layer can run the flash-attention op (the CPU backend can), so on the CPU it means {@code ON}.
     */
    public enum FlashAttention { AUTO, ON, OFF }
}

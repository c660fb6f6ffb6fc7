package dev.catena.ffm.testmodel;

import dev.catena.ffm.internal.llama_context_params;
import dev.catena.ffm.natives.LlamaNatives;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

import static dev.catena.ffm.internal.llama_h.*;

/** Loads a GGUF in llama.cpp itself (llama.h) and decodes a prompt: llama.cpp's view of a generated model. */
record LlamaCppCheck(int nLayer, int nEmbd, int nHead, int nHeadKv, int nVocab, int[] prompt, float[] lastLogits) {

    static LlamaCppCheck run(Path model, String text, int nCtx) {
        llama_backend_init();
        try (Arena arena = Arena.ofConfined()) {
            LlamaNatives.clearErrors();
            MemorySegment m = llama_model_load_from_file(arena.allocateFrom(model.toString()),
                    llama_model_default_params(arena));
            if (m.equals(MemorySegment.NULL)) {
                throw new AssertionError("llama.cpp cannot load " + model + ": " + LlamaNatives.takeErrors().orElse("no reason given"));
            }
            try {
                MemorySegment vocab = llama_model_get_vocab(m);
                int nVocab = llama_vocab_n_tokens(vocab);
                MemorySegment textSeg = arena.allocateFrom(text);
                int textLen = Math.toIntExact(textSeg.byteSize() - 1);
                MemorySegment tokens = arena.allocate(ValueLayout.JAVA_INT, 256);
                int n = llama_tokenize(vocab, textSeg, textLen, tokens, 256, true, false);
                if (n <= 0) {
                    throw new AssertionError("llama_tokenize(\"" + text + "\") returned " + n);
                }
                int[] prompt = tokens.asSlice(0, (long) n * Integer.BYTES).toArray(ValueLayout.JAVA_INT);

                MemorySegment cparams = llama_context_default_params(arena);
                llama_context_params.n_ctx(cparams, nCtx);
                llama_context_params.n_batch(cparams, nCtx);
                int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
                llama_context_params.n_threads(cparams, threads);
                llama_context_params.n_threads_batch(cparams, threads);
                MemorySegment ctx = llama_init_from_model(m, cparams);
                if (ctx.equals(MemorySegment.NULL)) {
                    throw new AssertionError("llama_init_from_model failed for " + model + ": " + LlamaNatives.takeErrors().orElse("no reason given"));
                }
                try {
                    int rc = llama_decode(ctx, llama_batch_get_one(arena, tokens, n));
                    if (rc != 0) {
                        throw new AssertionError("llama_decode returned " + rc + " for " + model);
                    }
                    float[] logits = llama_get_logits_ith(ctx, -1).reinterpret((long) nVocab * Float.BYTES)
                            .toArray(ValueLayout.JAVA_FLOAT);
                    return new LlamaCppCheck(llama_model_n_layer(m), llama_model_n_embd(m), llama_model_n_head(m),
                            llama_model_n_head_kv(m), nVocab, prompt, logits);
                } finally {
                    llama_free(ctx);
                }
            } finally {
                llama_model_free(m);
            }
        }
    }
}

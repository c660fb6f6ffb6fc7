package dev.catena.ffm.llama;

import dev.catena.api.spi.Generation;
import dev.catena.api.spi.ReferenceDecoder;
import dev.catena.api.spi.ReferenceOptions;
import dev.catena.api.spi.SamplingParams;
import dev.catena.ffm.natives.LlamaNatives;
import dev.catena.ffm.natives.NativeHandle;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

import dev.catena.ffm.internal.*;

import static dev.catena.ffm.internal.llama_h.*;

/**
 * llama.cpp's own decoder over a whole model, on the CPU or one GPU ({@link OracleOptions#device()}): the
 * reference Catena's decoding is compared with. One sequence, one context ({@code llama_init_from_model}) and
 * one {@code llama_batch} made once. A prompt is decoded in one {@code llama_decode} call (as llama-simple
 * does; in chunks of n_batch when longer), generation one token per call. Thread-safe by locking; close it
 * when done.
 */
public final class LlamaOracle implements AutoCloseable {

    /**
     * @param tokens generated ids, prompt excluded
     * @param logits {@code logits[i]} is the full row {@code [nVocab]} that chose {@code tokens[i]};
     *               empty when not kept
     */
    public record Result(int[] tokens, float[][] logits) {
    }

    private final LlamaModel model;
    private final OracleOptions options;
    private final NativeHandle context;
    private final MemorySegment memory;
    private final int nCtx;
    private final int nBatch;
    private final int nVocab;
    private final OracleBatch batch;
    private boolean closed;
    private int length;

    private LlamaOracle(LlamaModel model, OracleOptions options, NativeHandle context) {
        MemorySegment rawContext = context.get();
        this.model = model;
        this.options = options;
        this.context = context;
        this.memory = llama_get_memory(rawContext);
        this.nCtx = llama_n_ctx(rawContext);
        this.nBatch = llama_n_batch(rawContext);
        this.nVocab = model.vocab().nVocab();
        this.batch = new OracleBatch(nBatch);
    }

    /**
     * Loads {@code model} on {@code options.device()} ({@link LlamaModel#load(Path, int, String)}) and makes a
     * context for it.
     *
     * @throws dev.catena.api.ModelFormatException      for a missing, non-GGUF, truncated or malformed file
     * @throws dev.catena.api.UnsupportedModelException for an architecture llama.cpp cannot run
     */
    public static LlamaOracle open(Path model, OracleOptions options) {
        return LlamaContexts.onLoaded(model, options, loaded -> {
            try (Arena arena = Arena.ofConfined()) {
                var context = LlamaContexts.create(loaded, options.contextParams(arena), "with " + options);
                return LlamaContexts.wrap(context, c -> new LlamaOracle(loaded, options, c));
            }
        });
    }

    /** The oracle behind the SPI's {@link ReferenceDecoder}. */
    public static ReferenceDecoder openReference(Path model, ReferenceOptions options) {
        return new Reference(open(model, OracleOptions.from(options)));
    }

    public LlamaModel model() {
        return model;
    }

    public OracleOptions options() {
        return options;
    }

    public int nVocab() {
        return nVocab;
    }

    /** The context length llama.cpp allocated (n_ctx, possibly rounded up by llama.cpp). */
    public int nCtx() {
        return nCtx;
    }

    /** Tokens in the KV cache: the position the next {@link #decode} starts at. */
    public synchronized int length() {
        return length;
    }

    public int[] tokenize(String text, boolean addSpecial) {
        return model.vocab().tokenize(text, addSpecial);
    }

    public String detokenize(int[] tokens) {
        return model.vocab().detokenize(tokens);
    }

    /**
     * Decodes {@code tokens} at positions {@code position, position + 1, ...} and returns the logits
     * of the last one. {@code position} must be {@link #length()}: the cache holds the tokens before
     * it ({@link #truncate} first to go back).
     */
    public synchronized float[] decode(int[] tokens, int position) {
        MemorySegment ctx = context();
        if (tokens.length == 0) {
            throw new IllegalArgumentException("nothing to decode");
        }
        if (position != length) {
            throw new IllegalArgumentException("decode at position " + position + ", but the cache holds " + length
                    + " tokens; truncate(" + position + ") first to decode from there");
        }
        if ((long) position + tokens.length > nCtx) {
            throw new IllegalArgumentException(position + " + " + tokens.length + " tokens do not fit the context of " + nCtx);
        }
        for (int t : tokens) {
            if (t < 0 || t >= nVocab) {
                throw new IllegalArgumentException("token " + t + " is outside the vocabulary [0, " + nVocab + ")");
            }
        }
        for (int start = 0; start < tokens.length; start += nBatch) {
            int n = Math.min(nBatch, tokens.length - start);
            MemorySegment filled = batch.fill(tokens, start, position + start);
            LlamaNatives.clearErrors();
            int rc = llama_decode(ctx, filled);
            if (rc != 0) {
                length = llama_memory_seq_pos_max(memory, 0) + 1; // what the cache really holds now
                throw new IllegalStateException("llama_decode returned " + rc + " for " + n + " tokens at position "
                        + (position + start) + ": " + LlamaNatives.takeErrors().orElse("no reason given"));
            }
            length += n;
        }
        MemorySegment row = llama_get_logits_ith(ctx, -1);
        if (row.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("llama_get_logits_ith returned NULL: " + LlamaNatives.takeErrors().orElse("no reason given"));
        }
        return row.reinterpret((long) nVocab * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
    }

    /** Drops the cached tokens at positions {@code >= position} ({@code llama_memory_seq_rm}). */
    public synchronized void truncate(int position) {
        context();
        if (position < 0 || position > length) {
            throw new IllegalArgumentException("truncate to " + position + ": the cache holds " + length + " tokens");
        }
        if (!llama_memory_seq_rm(memory, 0, position, -1)) {
            throw new IllegalStateException("llama_memory_seq_rm refused to drop positions >= " + position);
        }
        length = position;
    }

    /**
     * Clears the cache, decodes {@code prompt}, then generates exactly {@code n} tokens with llama.cpp's
     * greedy sampler (argmax, ties to the lowest id). It does not stop at end-of-generation tokens, so
     * two decoders can be compared step by step.
     */
    public synchronized Result generateGreedy(int[] prompt, int n, boolean keepLogits) {
        context();
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        if (n < 0) {
            throw new IllegalArgumentException("n must be >= 0, got " + n);
        }
        if ((long) prompt.length + Math.max(0, n - 1) > nCtx) {
            throw new IllegalArgumentException(prompt.length + " prompt tokens and " + n
                    + " generated do not fit the context of " + nCtx);
        }
        llama_memory_clear(memory, true);
        length = 0;
        int[] tokens = new int[n];
        float[][] rows = keepLogits ? new float[n][] : new float[0][];
        try (LlamaSamplerChain greedy = LlamaSamplerChain.create(SamplingParams.greedyDecoding(), nVocab)) {
            float[] logits = decode(prompt, 0);
            for (int i = 0; i < n; i++) {
                tokens[i] = greedy.sample(logits);
                if (keepLogits) {
                    rows[i] = logits;
                }
                if (i + 1 < n) {
                    logits = decode(new int[]{tokens[i]}, length);
                }
            }
        }
        return new Result(tokens, rows);
    }

    private MemorySegment context() {
        if (closed) {
            throw new IllegalStateException("the oracle is already closed");
        }
        return context.get();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        batch.close();
        context.close();
        model.close();
    }

    /** Adapts the oracle to the SPI. */
    private record Reference(LlamaOracle oracle) implements ReferenceDecoder {
        @Override
        public int nVocab() {
            return oracle.nVocab();
        }

        @Override
        public int[] tokenize(String text, boolean addSpecial) {
            return oracle.tokenize(text, addSpecial);
        }

        @Override
        public String detokenize(int[] tokens) {
            return oracle.detokenize(tokens);
        }

        @Override
        public Generation generateGreedy(int[] prompt, int n, boolean keepLogits) {
            Result r = oracle.generateGreedy(prompt, n, keepLogits);
            return new Generation(r.tokens(), r.logits());
        }

        @Override
        public void close() {
            oracle.close();
        }

        @Override
        public String toString() {
            return "llama.cpp reference decoder for " + oracle.model().path();
        }
    }
}

package dev.catena.ffm.llama;

import dev.catena.ffm.internal.llama_context_params;
import dev.catena.ffm.natives.LlamaNatives;
import dev.catena.ffm.natives.NativeHandle;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

import static dev.catena.ffm.internal.llama_h.*;

/**
 * llama.cpp decoding several sequences at once, the baseline for batched decode: one context with
 * {@code n_seq_max} sequences, each its own KV stream ({@code kv_unified} off), and one
 * {@code llama_decode} for a token of every sequence. Not thread-safe.
 */
public final class LlamaSequences implements AutoCloseable {
    private final LlamaModel model;
    private final NativeHandle context;
    private final MemorySegment memory;
    private final int sequences;
    private final int nVocab;
    private final OracleBatch batch;
    private final int capacity;
    private final int[] length;
    private final boolean ownsModel;

    private LlamaSequences(LlamaModel model, boolean ownsModel, NativeHandle context, int sequences, int capacity) {
        this.model = model;
        this.ownsModel = ownsModel;
        this.context = context;
        this.memory = llama_get_memory(context.get());
        this.sequences = sequences;
        this.nVocab = model.vocab().nVocab();
        this.capacity = capacity;
        this.length = new int[sequences];
        this.batch = new OracleBatch(capacity);
    }

    /**
     * @param options   {@code nCtx} is each sequence's context; threads, flash attention, KV type and
     *                  weight loading as for {@link LlamaOracle}
     * @param sequences sequences decoded together (llama.cpp's n_seq_max)
     */
    public static LlamaSequences open(Path path, OracleOptions options, int sequences) {
        return LlamaContexts.onLoaded(path, options, loaded -> open(loaded, true, options, sequences));
    }

    /** A context on a model already loaded, which stays the caller's (e.g. one model for contexts of several sizes). */
    public static LlamaSequences open(LlamaModel loaded, OracleOptions options, int sequences) {
        return open(loaded, false, options, sequences);
    }

    private static LlamaSequences open(LlamaModel loaded, boolean owns, OracleOptions options, int sequences) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment params = options.withNCtx(options.nCtx() * sequences).contextParams(a);
            llama_context_params.n_seq_max(params, sequences);
            llama_context_params.kv_unified(params, false);
            int capacity = Math.max(sequences, options.nBatch() > 0 ? options.nBatch() : 2048);
            llama_context_params.n_batch(params, capacity);
            var context = LlamaContexts.create(loaded, params, "of " + sequences + " sequences");
            return LlamaContexts.wrap(context,
                    c -> new LlamaSequences(loaded, owns, c, sequences, Math.min(capacity, llama_n_batch(c.get()))));
        }
    }

    public int sequences() {
        return sequences;
    }

    public LlamaModel model() {
        return model;
    }

    /** Decodes {@code tokens} of sequence {@code seq} after what it holds; returns the last one's logits. */
    public float[] prefill(int seq, int[] tokens) {
        if (tokens.length > capacity) throw new IllegalArgumentException(tokens.length + " tokens exceed the batch of " + capacity);
        for (int i = 0; i < tokens.length; i++) {
            set(i, tokens[i], seq, length[seq] + i, i == tokens.length - 1);
        }
        decode(tokens.length);
        length[seq] += tokens.length;
        return row(tokens.length - 1);
    }

    /** One token for each sequence, {@code tokens[s]} for sequence s, in one llama_decode; the logits of each. */
    public float[][] decodeEach(int[] tokens) {
        if (tokens.length != sequences) throw new IllegalArgumentException("one token per sequence: " + sequences + " expected");
        for (int s = 0; s < sequences; s++) {
            set(s, tokens[s], s, length[s], true);
        }
        decode(sequences);
        float[][] out = new float[sequences][];
        for (int s = 0; s < sequences; s++) {
            length[s]++;
            out[s] = row(s);
        }
        return out;
    }

    /** Empties every sequence. */
    public void clear() {
        llama_memory_clear(memory, true);
        java.util.Arrays.fill(length, 0);
    }

    private void set(int i, int t, int seq, int position, boolean wantLogits) {
        if (t < 0 || t >= nVocab) throw new IllegalArgumentException("token " + t + " is outside the vocabulary");
        batch.set(i, t, seq, position, wantLogits);
    }

    private void decode(int n) {
        LlamaNatives.clearErrors();
        int rc = llama_decode(context.get(), batch.ofSize(n));
        if (rc != 0) {
            throw new IllegalStateException("llama_decode returned " + rc + " for " + n + " tokens: "
                    + LlamaNatives.takeErrors().orElse("no reason given"));
        }
    }

    private float[] row(int i) {
        MemorySegment row = llama_get_logits_ith(context.get(), i);
        if (row.equals(MemorySegment.NULL)) throw new IllegalStateException("llama_get_logits_ith(" + i + ") returned NULL");
        return row.reinterpret((long) nVocab * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
    }

    @Override
    public void close() {
        try {
            context.close();
        } finally {
            batch.close();
            if (ownsModel) {
                model.close();
            }
        }
    }
}

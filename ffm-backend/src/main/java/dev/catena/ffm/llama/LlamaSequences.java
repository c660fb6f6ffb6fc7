package dev.catena.ffm.llama;

import dev.catena.ffm.internal.llama_batch;
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
    private final Arena arena = Arena.ofShared();
    private final MemorySegment batch;
    private final MemorySegment token;
    private final MemorySegment pos;
    private final MemorySegment seqId;
    private final MemorySegment logits;
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
        this.batch = llama_batch_init(arena, capacity, 0, 1);
        this.token = llama_batch.token(batch).reinterpret((long) capacity * Integer.BYTES);
        this.pos = llama_batch.pos(batch).reinterpret((long) capacity * Integer.BYTES);
        this.logits = llama_batch.logits(batch).reinterpret(capacity);
        this.seqId = llama_batch.seq_id(batch).reinterpret((long) capacity * ValueLayout.ADDRESS.byteSize());
        MemorySegment nSeqId = llama_batch.n_seq_id(batch).reinterpret((long) capacity * Integer.BYTES);
        for (int i = 0; i < capacity; i++) {
            nSeqId.setAtIndex(ValueLayout.JAVA_INT, i, 1);
        }
    }

    /**
     * @param options   {@code nCtx} is each sequence's context; threads, flash attention, KV type and
     *                  weight loading as for {@link LlamaOracle}
     * @param sequences sequences decoded together (llama.cpp's n_seq_max)
     */
    public static LlamaSequences open(Path path, OracleOptions options, int sequences) {
        LlamaModel loaded = LlamaModel.load(path, options.threads(), options.device(), options.weights());
        try {
            return open(loaded, true, options, sequences);
        } catch (RuntimeException | Error e) {
            loaded.close();
            throw e;
        }
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
            LlamaNatives.clearErrors();
            MemorySegment ctx = llama_init_from_model(loaded.handle(), params);
            if (ctx.equals(MemorySegment.NULL)) {
                throw new IllegalStateException(loaded.path() + ": llama.cpp cannot create a context of " + sequences + " sequences: "
                        + LlamaNatives.takeErrors().orElse("no reason given"));
            }
            var context = new NativeHandle("llama context", ctx, c -> llama_free(c));
            try {
                return new LlamaSequences(loaded, owns, context, sequences, Math.min(capacity, llama_n_batch(ctx)));
            } catch (RuntimeException | Error e) {
                context.close();
                throw e;
            }
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
        token.setAtIndex(ValueLayout.JAVA_INT, i, t);
        pos.setAtIndex(ValueLayout.JAVA_INT, i, position);
        seqId.getAtIndex(ValueLayout.ADDRESS, i).reinterpret(Integer.BYTES).set(ValueLayout.JAVA_INT, 0, seq);
        logits.set(ValueLayout.JAVA_BYTE, i, (byte) (wantLogits ? 1 : 0));
    }

    private void decode(int n) {
        llama_batch.n_tokens(batch, n);
        LlamaNatives.clearErrors();
        int rc = llama_decode(context.get(), batch);
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
            llama_batch_free(batch);
            arena.close();
            if (ownsModel) {
                model.close();
            }
        }
    }
}

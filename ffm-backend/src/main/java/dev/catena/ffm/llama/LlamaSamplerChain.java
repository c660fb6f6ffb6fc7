package dev.catena.ffm.llama;

import dev.catena.api.spi.Sampler;
import dev.catena.api.spi.SamplingParams;
import dev.catena.ffm.natives.LlamaNatives;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.catena.ffm.internal.*;

import static dev.catena.ffm.internal.llama_h.*;

/**
 * A {@link Sampler} that is llama.cpp's own sampler chain, fed with logits from anywhere.
 * <p>
 * The chain is built as llama.cpp's {@code common_sampler} orders it: penalties, top-k, top-p, min-p,
 * temperature, then {@code dist(seed)}; stages that are disabled by their value (top-k 0, top-p 1,
 * min-p 0, repeat penalty 1) are left out. {@link SamplingParams#greedy()} builds {@code greedy} alone.
 * <p>
 * Greedy ties: {@code llama_sampler_greedy} scans the candidates in array order and moves only on a
 * strictly larger logit, and this class lays the candidates out in id order, so ties go to the lowest
 * id. (top-k 1 also keeps the lowest tied id: its {@code std::partial_sort} replaces only on strictly
 * greater.)
 * <p>
 * The candidate array ({@code llama_token_data[nVocab]} and its {@code llama_token_data_array}) is
 * allocated once per sampler, on its first {@link #sample}, and refilled on each; samplers sort and
 * truncate it in place. Not thread-safe (like every {@link Sampler}); may be used from any one thread at a time.
 */
public final class LlamaSamplerChain implements Sampler {
    private static final long STRIDE = llama_token_data.sizeof();
    private static final int ID = Math.toIntExact(llama_token_data.id$offset() / Integer.BYTES);
    private static final int LOGIT = Math.toIntExact(llama_token_data.logit$offset() / Integer.BYTES);
    private static final int P = Math.toIntExact(llama_token_data.p$offset() / Integer.BYTES);
    private static final int WORDS = Math.toIntExact(STRIDE / Integer.BYTES);

    private final int nVocab;
    private final SamplingParams params;
    /**
     * The chain, freed by {@link #close} directly rather than through a {@code NativeHandle}'s shared arena:
     * closing a shared arena stops every thread for a handshake, and a ring's last server copies and frees
     * a sampler per step (1.2 ms p50, 11 ms p90 on a loaded 2-vCPU server). Safe because every use and the
     * close hold this object's monitor (a session may be closed from another thread while its step samples:
     * a JVM crashed in {@code llama_sampler_clone} on a freed chain before they did).
     */
    private final MemorySegment chain;
    /** Allocated on the first {@link #sample}: a copy kept only to be copied back (a ring's rewind points) never needs them. */
    private Arena buffers;
    private MemorySegment candidates;
    private MemorySegment array;
    private int[] staging;
    private final AtomicBoolean closed = new AtomicBoolean();

    private LlamaSamplerChain(int nVocab, SamplingParams params, MemorySegment rawChain) {
        this.nVocab = nVocab;
        this.params = params;
        this.chain = rawChain;
    }

    private void allocateBuffers() {
        buffers = Arena.ofShared();
        candidates = llama_token_data.allocateArray(nVocab, buffers);
        array = llama_token_data_array.allocate(buffers);
        staging = new int[nVocab * WORDS];
    }

    /**
     * A chain for logits rows of {@code nVocab}.
     *
     * @param params {@code seed}'s low 32 bits seed {@code dist}; 0xFFFFFFFF means a random seed, as in llama.cpp
     * @throws IllegalArgumentException for nVocab < 1 or repeatLastN < 0
     */
    public static LlamaSamplerChain create(SamplingParams params, int nVocab) {
        if (nVocab < 1) {
            throw new IllegalArgumentException("nVocab must be >= 1, got " + nVocab);
        }
        if (!params.greedy() && params.repeatLastN() < 0) {
            throw new IllegalArgumentException("repeatLastN must be >= 0, got " + params.repeatLastN());
        }
        LlamaNatives.lookup();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment chainParams = llama_sampler_chain_default_params(arena);
            llama_sampler_chain_params.no_perf(chainParams, true);
            MemorySegment raw = llama_sampler_chain_init(chainParams);
            if (raw.equals(MemorySegment.NULL)) {
                throw new IllegalStateException("llama_sampler_chain_init returned NULL");
            }
            var sampler = new LlamaSamplerChain(nVocab, params, raw);
            try {
                sampler.build();
            } catch (RuntimeException e) {
                sampler.close();
                throw e;
            }
            return sampler;
        }
    }

    private void build() {
        if (params.greedy()) {
            add(llama_sampler_init_greedy());
            return;
        }
        if (params.repeatPenalty() != 1f && params.repeatLastN() > 0) {
            add(llama_sampler_init_penalties(nVocab, params.repeatLastN(), params.repeatPenalty(), 0f, 0f));
        }
        if (params.topK() > 0) {
            add(llama_sampler_init_top_k(params.topK()));
        }
        if (params.topP() < 1f) {
            add(llama_sampler_init_top_p(params.topP(), 1));
        }
        if (params.minP() > 0f) {
            add(llama_sampler_init_min_p(params.minP(), 1));
        }
        add(llama_sampler_init_temp(params.temperature()));
        add(llama_sampler_init_dist((int) params.seed()));
    }

    private void add(MemorySegment sampler) {
        if (sampler.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("llama.cpp returned a NULL sampler");
        }
        llama_sampler_chain_add(handle(), sampler); // the chain owns it from here
    }

    public SamplingParams params() {
        return params;
    }

    public int nVocab() {
        return nVocab;
    }

    @Override
    public synchronized int sample(float[] logits) {
        if (logits.length != nVocab) {
            throw new IllegalArgumentException("logits has " + logits.length + " entries, the vocabulary " + nVocab);
        }
        MemorySegment handle = handle();
        if (buffers == null) allocateBuffers();
        int[] s = staging;
        for (int i = 0, o = 0; i < nVocab; i++, o += WORDS) {
            s[o + ID] = i;
            s[o + LOGIT] = Float.floatToRawIntBits(logits[i]);
            s[o + P] = 0;
        }
        MemorySegment.copy(s, 0, candidates, ValueLayout.JAVA_INT, 0, s.length);
        llama_token_data_array.data(array, candidates);
        llama_token_data_array.size(array, nVocab);
        llama_token_data_array.selected(array, -1);
        llama_token_data_array.sorted(array, false);
        llama_sampler_apply(handle, array);
        long selected = llama_token_data_array.selected(array);
        long size = llama_token_data_array.size(array);
        if (selected < 0 || selected >= size) {
            throw new IllegalStateException("the sampler chain selected index " + selected + " of " + size
                    + " candidates (logits all NaN or -inf?)");
        }
        int token = candidates.getAtIndex(ValueLayout.JAVA_INT, selected * WORDS + ID);
        llama_sampler_accept(handle, token);
        return token;
    }

    /** llama.cpp's clone: every stage copied with its state (the penalties' window, dist's RNG). */
    @Override
    public synchronized LlamaSamplerChain copy() {
        MemorySegment raw = llama_sampler_clone(handle());
        if (raw.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("llama_sampler_clone returned NULL");
        }
        return new LlamaSamplerChain(nVocab, params, raw);
    }

    @Override
    public synchronized void accept(int token) {
        if (token < 0 || token >= nVocab) {
            throw new IllegalArgumentException("token " + token + " is outside the vocabulary [0, " + nVocab + ")");
        }
        llama_sampler_accept(handle(), token);
    }

    private MemorySegment handle() {
        if (closed.get()) {
            throw new IllegalStateException("sampler chain is already closed");
        }
        return chain;
    }

    /**
     * Frees the chain directly, not through a shared arena, whose close would pause every thread of the JVM. Every
     * native call holds this object's monitor, as close does: a close from another thread (a session closed while
     * its ring step samples) waits for the call in progress, and a later call throws rather than reading freed memory.
     */
    @Override
    public synchronized void close() {
        if (closed.compareAndSet(false, true)) {
            llama_sampler_free(chain);
            if (buffers != null) buffers.close();
        }
    }
}

package dev.catena.ffm.span;

import dev.catena.api.SpanInputException;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SpanSession;
import dev.catena.ffm.ggml.GgmlBackend;
import dev.catena.ffm.ggml.HostCopies;
import dev.catena.ffm.model.ModelHparams;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * A session on a span: its KV cache (F16 with flash attention, as llama.cpp does by default on the
 * CPU; or F32 with plain attention) and its length.
 */
final class FfmSpanSession implements SpanSession {
    private static final short F16_NEG_INF = (short) 0xFC00;
    /** llama.cpp pads the attended KV cells to a multiple of this, so graphs keep their shape across steps. */
    private static final int KV_PAD = 256;
    /** Masks up to this many elements (decode steps, short chunks) keep their array between steps; a prefill's is dropped. */
    private static final int KEEP_MASK = 64 * 1024;

    private static final java.util.concurrent.atomic.AtomicLong OPENED = new java.util.concurrent.atomic.AtomicLong();

    private final FfmSpan span;
    private final ModelHparams hp;
    /** Order in which batches lock their sessions, so that two batches never wait on each other. */
    final long lockOrder = OPENED.incrementAndGet();
    final dev.catena.api.BlockRange blocks;
    private final List<LayerWeights> layers;
    private final KvCache kv;
    private final boolean flash;
    private final int maxLength;
    private final long kvBytes;
    private final ReentrantLock lock = new ReentrantLock();
    private int length;
    private boolean closed;
    // A step's inputs, kept between steps (guarded by the lock).
    private int[] positions = new int[1];   // (n)
    private long[] cells = new long[1];     // (n) cache cell of each token
    private final int[] outputRow = new int[1];
    private short[] maskF16 = new short[0]; // (n, nKv) with flash attention
    private float[] maskF32 = new float[0]; // (n, nKv) without

    FfmSpanSession(FfmSpan span, SessionOptions options) {
        this.span = span;
        this.hp = span.hparams();
        this.maxLength = options.maxLength();
        this.flash = options.kvType() == SessionOptions.KvType.F16;
        this.blocks = options.blocksWithin(span.start(), span.end());
        this.layers = span.layers(blocks);
        this.kv = new KvCache(hp, layers.size(), maxLength, flash ? GGML_TYPE_F16() : GGML_TYPE_F32(),
                span.backend());
        this.kvBytes = kv.bytes();
    }

    @Override
    public int length() {
        lock.lock();
        try {
            return length;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public int maxLength() {
        return maxLength;
    }

    @Override
    public long kvBytes() {
        return kvBytes;
    }

    @Override
    public float[] forward(float[] hidden, int n, int position, boolean lastOnly) {
        lock.lock();
        try {
            checkStep(hidden, n, position);
            return forwardChecked(hidden, n, position, lastOnly);
        } finally {
            lock.unlock();
        }
    }

    /** The step's compute, its input checked ({@link #checkStep}) under the lock, which the caller holds. */
    float[] forwardChecked(float[] hidden, int n, int position, boolean lastOnly) {
        int end = position + n;
        int nKv = attended(end);
        // Truncate first: if the step fails, the session is consistent at this length.
        length = position;
        // Positions, cache cells and the mask are inputs, so one graph serves every step of this shape.
        float[] out = span.compute().run(new Shape(kv, n, nKv, lastOnly),
                ctx -> BlockGraph.build(ctx, hp, layers, kv, n, nKv, flash, lastOnly, span.ropeFactors()),
                (built, backend) -> run(built, backend, hidden, n, position, nKv));
        length = end;
        return out;
    }

    /** Cells a step ending at {@code end} attends to: llama.cpp's padding, so graphs keep their shape across steps. */
    int attended(int end) {
        return Math.min(maxLength, Math.max(KV_PAD, (end + KV_PAD - 1) / KV_PAD * KV_PAD));
    }

    // For BatchStepper, which holds the lock while it runs a batch of steps.
    ReentrantLock lock() {
        return lock;
    }

    FfmSpan span() {
        return span;
    }

    List<LayerWeights> layers() {
        return layers;
    }

    KvCache kv() {
        return kv;
    }

    boolean flash() {
        return flash;
    }

    /** Checks a step's input, under the lock: what {@link #forward} refuses before computing. */
    void checkStep(float[] hidden, int n, int position) {
        checkOpen();
        validate(hidden, n, position);
        long nKv = attended(position + n);
        if (n * nKv > Integer.MAX_VALUE - 8) {
            throw new SpanInputException("a step of " + n + " tokens over " + nKv + " cells needs a mask of over 2^31"
                    + " elements: send the tokens in smaller steps");
        }
    }

    /** Sets the length under the lock: to the position before a batched step (a re-send truncates), past it after. */
    void setLength(int length) {
        this.length = length;
    }

    /** What a block graph's structure depends on: the cache it writes and reads, and its sizes. */
    private record Shape(KvCache kv, int n, int nKv, boolean lastOnly) {
    }

    private float[] run(BlockGraph.Built g, GgmlBackend backend, float[] hidden, int n, int position, int nKv) {
        HostCopies.write(g.input(), hidden, hidden.length);
        if (positions.length < n) {
            positions = new int[n];
            cells = new long[n];
        }
        for (int i = 0; i < n; i++) {
            positions[i] = position + i;
            cells[i] = position + i;
        }
        HostCopies.write(g.positions(), positions, n);
        HostCopies.write(g.kvIndices(), cells, n);
        writeCausalMask(g.mask(), n, position, nKv);
        if (!g.outputRows().equals(MemorySegment.NULL)) {
            outputRow[0] = n - 1;
            HostCopies.write(g.outputRows(), outputRow, 1);
        }
        backend.compute(g.graph());
        return HostCopies.readF32(g.output());
    }

    /** Row i (token at position + i) may attend to cells [0, position + i]; the rest is -inf. */
    void writeCausalMask(MemorySegment tensor, int n, int position, int nKv) {
        int size = n * nKv;
        if (flash) {
            short[] mask = maskF16.length >= size ? maskF16 : new short[size];
            if (size <= KEEP_MASK) {
                maskF16 = mask;
            }
            for (int i = 0; i < n; i++) {
                int visible = Math.min(nKv, position + i + 1);
                Arrays.fill(mask, i * nKv, i * nKv + visible, (short) 0);
                Arrays.fill(mask, i * nKv + visible, (i + 1) * nKv, F16_NEG_INF);
            }
            HostCopies.write(tensor, mask, size);
        } else {
            float[] mask = maskF32.length >= size ? maskF32 : new float[size];
            if (size <= KEEP_MASK) {
                maskF32 = mask;
            }
            for (int i = 0; i < n; i++) {
                int visible = Math.min(nKv, position + i + 1);
                Arrays.fill(mask, i * nKv, i * nKv + visible, 0f);
                Arrays.fill(mask, i * nKv + visible, (i + 1) * nKv, Float.NEGATIVE_INFINITY);
            }
            HostCopies.write(tensor, mask, size);
        }
    }

    private void validate(float[] hidden, int n, int position) {
        if (n < 1) {
            throw new SpanInputException("a step needs at least one token, got n = " + n);
        }
        if (hidden == null || hidden.length != (long) n * hp.nEmbd()) {
            throw new SpanInputException("hidden states must hold n * n_embd = " + n + " * " + hp.nEmbd() + " floats, got "
                    + (hidden == null ? "null" : hidden.length));
        }
        if (position < 0 || position > length) {
            throw new SpanInputException("position " + position + " is not within the session's length " + length
                    + " (re-send from " + length + ")");
        }
        if ((long) position + n > maxLength) {
            throw new SpanInputException("tokens [" + position + ", " + (position + n) + ") exceed the session's max_length "
                    + maxLength);
        }
        for (int i = 0; i < hidden.length; i++) {
            if (!Float.isFinite(hidden[i])) {
                throw new SpanInputException("hidden state of token " + (i / hp.nEmbd()) + " holds a non-finite value ("
                        + hidden[i] + ") at element " + (i % hp.nEmbd()));
            }
        }
    }

    @Override
    public void truncate(int position) {
        lock.lock();
        try {
            checkOpen();
            if (position < 0 || position > length) {
                throw new SpanInputException("cannot truncate to " + position + ": length is " + length);
            }
            length = position; // cells past the length are never attended to: the mask stops at each token's position
        } finally {
            lock.unlock();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("session is closed");
        }
    }

    /** Waits for a running step, then frees the KV cache at once. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            kv.close();
        } finally {
            lock.unlock();
            span.released(this);
        }
    }
}

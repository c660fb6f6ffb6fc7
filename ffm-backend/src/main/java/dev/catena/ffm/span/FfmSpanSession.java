package dev.catena.ffm.span;

import dev.catena.api.SpanInputException;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SpanSession;
import dev.catena.ffm.ggml.GgmlBackend;
import dev.catena.ffm.model.ModelHparams;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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

    private final FfmSpan span;
    private final ModelHparams hp;
    private final List<LayerWeights> layers;
    private final KvCache kv;
    private final boolean flash;
    private final int maxLength;
    private final long kvBytes;
    private final ReentrantLock lock = new ReentrantLock();
    private int length;
    private boolean closed;

    FfmSpanSession(FfmSpan span, SessionOptions options) {
        this.span = span;
        this.hp = span.hparams();
        this.maxLength = options.maxLength();
        this.flash = options.kvType() == SessionOptions.KvType.F16;
        this.layers = span.layers(options.blocksWithin(span.start(), span.end()));
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
            checkOpen();
            validate(hidden, n, position);
            int end = position + n;
            int nKv = Math.min(maxLength, Math.max(KV_PAD, (end + KV_PAD - 1) / KV_PAD * KV_PAD));
            // Truncate first: if the step fails, the session is consistent at this length.
            length = position;
            float[] out = span.compute().run(
                    ctx -> BlockGraph.build(ctx, hp, layers, kv, n, nKv, flash, lastOnly, span.ropeFactors()),
                    (built, backend) -> run(built, backend, hidden, n, position, nKv));
            length = end;
            return out;
        } finally {
            lock.unlock();
        }
    }

    private float[] run(BlockGraph.Built g, GgmlBackend backend, float[] hidden, int n, int position, int nKv) {
        try (Arena arena = Arena.ofConfined()) {
            ggml_backend_tensor_set(g.input(), arena.allocateFrom(ValueLayout.JAVA_FLOAT, hidden), 0, (long) hidden.length * 4);
            MemorySegment pos = arena.allocate(ValueLayout.JAVA_INT, n);
            MemorySegment cells = arena.allocate(ValueLayout.JAVA_LONG, n);
            for (int i = 0; i < n; i++) {
                pos.setAtIndex(ValueLayout.JAVA_INT, i, position + i);
                cells.setAtIndex(ValueLayout.JAVA_LONG, i, position + i);
            }
            ggml_backend_tensor_set(g.positions(), pos, 0, pos.byteSize());
            ggml_backend_tensor_set(g.kvIndices(), cells, 0, cells.byteSize());
            ggml_backend_tensor_set(g.mask(), causalMask(arena, n, position, nKv), 0, ggml_nbytes(g.mask()));
            if (!g.outputRows().equals(MemorySegment.NULL)) {
                ggml_backend_tensor_set(g.outputRows(), arena.allocateFrom(ValueLayout.JAVA_INT, n - 1), 0, Integer.BYTES);
            }
            backend.compute(g.graph());
            return GgmlBackend.readF32(g.output());
        }
    }

    /** Row i (token at position + i) may attend to cells [0, position + i]; the rest is -inf. */
    private MemorySegment causalMask(Arena arena, int n, int position, int nKv) {
        MemorySegment mask = arena.allocate((long) nKv * n * (flash ? 2 : 4), 4);
        for (int i = 0; i < n; i++) {
            int visible = position + i + 1;
            for (int j = 0; j < nKv; j++) {
                long at = (long) i * nKv + j;
                if (flash) {
                    mask.setAtIndex(ValueLayout.JAVA_SHORT, at, j < visible ? 0 : F16_NEG_INF);
                } else {
                    mask.setAtIndex(ValueLayout.JAVA_FLOAT, at, j < visible ? 0f : Float.NEGATIVE_INFINITY);
                }
            }
        }
        return mask;
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

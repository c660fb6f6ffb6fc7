package dev.catena.testing;

import dev.catena.api.ModelInfo;
import dev.catena.api.SpanInputException;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.ReferenceDecoder;
import dev.catena.api.spi.ReferenceOptions;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.Span;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.SpanSession;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Spans that compute nothing: each returns its input (the last row when asked). Servers of these
 * measure what a hop costs besides compute, at a real hidden size: framing, digests, copies,
 * thread handoffs and the loopback network.
 */
public final class PassThroughSpans implements SpanBackend {
    private final int nLayer;
    private final int nEmbd;
    private volatile long computeNanos;

    public PassThroughSpans(int nLayer, int nEmbd) {
        this.nLayer = nLayer;
        this.nEmbd = nEmbd;
    }

    /** Each forward takes at least {@code compute} (sleeping): a span with a known compute time. */
    public PassThroughSpans computing(java.time.Duration compute) {
        this.computeNanos = compute.toNanos();
        return this;
    }

    @Override public String name() { return "pass-through"; }
    @Override public String engineVersion() { return "none"; }
    @Override public List<dev.catena.api.DeviceInfo> devices() { return List.of(); }

    @Override
    public ModelInfo inspect(Path model) {
        return new ModelInfo(model, "pass-through", "pass-through", 3, nLayer, nEmbd, 1, 1, 1, 2, 4096, "ALL_F32", 0, 0);
    }

    @Override
    public Span openSpan(Path model, int start, int end, SpanOptions options) {
        ModelInfo info = inspect(model);
        return new Span() {
            @Override public ModelInfo model() { return info; }
            @Override public int start() { return start; }
            @Override public int end() { return end; }
            @Override public long weightBytes() { return 0; }
            @Override public String device() { return "none"; }
            @Override public String computeKind() { return "pass-through"; }
            @Override public long kvBytesFor(SessionOptions o) { return 0; }
            @Override public void close() { }

            @Override
            public SpanSession openSession(SessionOptions o) {
                return new SpanSession() {
                    int length;
                    @Override public int length() { return length; }
                    @Override public int maxLength() { return o.maxLength(); }
                    @Override public long kvBytes() { return 0; }
                    @Override public void truncate(int position) { length = position; }
                    @Override public void close() { }

                    @Override
                    public float[] forward(float[] hidden, int n, int position, boolean lastOnly) {
                        if (position > length || position + n > o.maxLength()) {
                            throw new SpanInputException("position " + position + " out of range");
                        }
                        length = position + n;
                        long until = System.nanoTime() + computeNanos;
                        for (long left = computeNanos; left > 0; left = until - System.nanoTime()) {
                            java.util.concurrent.locks.LockSupport.parkNanos(left);
                        }
                        return lastOnly ? Arrays.copyOfRange(hidden, (n - 1) * nEmbd, n * nEmbd) : hidden;
                    }
                };
            }
        };
    }

    @Override
    public ModelHead openHead(Path model, SpanOptions options) {
        throw new UnsupportedOperationException("pass-through spans have no head: drive them with RemoteSession.step");
    }

    @Override
    public ReferenceDecoder openReference(Path model, ReferenceOptions options) {
        throw new UnsupportedOperationException("pass-through spans have no reference decoder");
    }
}

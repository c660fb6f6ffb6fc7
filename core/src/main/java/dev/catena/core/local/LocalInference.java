package dev.catena.core.local;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.Span;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.SpanSession;
import dev.catena.core.generation.GenerationLoop;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * A model run in one process: the client head and the given spans chained, hidden states handed
 * from span to span in F32. What a swarm computes, minus the network: the reference that
 * distributed runs are compared with.
 */
public final class LocalInference implements AutoCloseable {
    private final ModelHead head;
    private final List<Span> spans;
    private final List<BlockRange> ranges;
    private final java.util.concurrent.atomic.AtomicLong kvBytesInUse = new java.util.concurrent.atomic.AtomicLong();

    private LocalInference(ModelHead head, List<Span> spans, List<BlockRange> ranges) {
        this.head = head;
        this.spans = spans;
        this.ranges = ranges;
    }

    /** The spans' blocks, in order. */
    public List<BlockRange> ranges() {
        return ranges;
    }

    /** KV cache bytes of the sessions open now. */
    public long kvBytesInUse() {
        return kvBytesInUse.get();
    }

    /**
     * @param split block ranges that chain to cover the model exactly; empty for one span of all blocks
     */
    public static LocalInference open(SpanBackend backend, Path model, List<BlockRange> split, SpanOptions options) {
        int nLayer = backend.inspect(model).nLayer();
        List<BlockRange> ranges = split.isEmpty() ? List.of(new BlockRange(0, nLayer)) : split;
        BlockRange.requireChain(ranges, nLayer);
        List<Span> spans = new ArrayList<>();
        ModelHead head = null;
        try {
            head = backend.openHead(model, options);
            for (BlockRange r : ranges) {
                spans.add(backend.openSpan(model, r.start(), r.end(), options));
            }
            return new LocalInference(head, List.copyOf(spans), List.copyOf(ranges));
        } catch (RuntimeException e) {
            spans.forEach(Span::close);
            if (head != null) head.close();
            throw e;
        }
    }

    public ModelHead head() {
        return head;
    }

    /**
     * Generates up to {@code n} tokens after {@code prompt}; see {@link GenerationLoop#generate}. Opens a
     * session on every span for this generation and closes them after.
     */
    public GenerationLoop.Generation generate(String prompt, int n, SamplingParams sampling, SessionOptions sessionOptions,
                                         boolean stopAtEos, boolean keepLogits, IntConsumer onToken) {
        try (var session = openSession(sessionOptions)) {
            return GenerationLoop.generate(head, session, prompt, n, sampling, sessionOptions.maxLength(), stopAtEos, keepLogits,
                    onToken);
        }
    }

    /** Opens a session on every span, chained; closing it frees their KV caches. */
    public GenerationLoop.Session openSession(SessionOptions sessionOptions) {
        List<SpanSession> sessions = new ArrayList<>();
        try {
            for (Span s : spans) {
                sessions.add(s.openSession(sessionOptions));
            }
        } catch (RuntimeException e) {
            sessions.forEach(SpanSession::close);
            throw e;
        }
        List<SpanSession> opened = List.copyOf(sessions);
        long kv = opened.stream().mapToLong(SpanSession::kvBytes).sum();
        kvBytesInUse.addAndGet(kv);
        var closed = new java.util.concurrent.atomic.AtomicBoolean();
        return new GenerationLoop.Session() {
            @Override
            public float[] forwardLast(float[] hidden, int n, int position) {
                return LocalInference.forwardLast(opened, hidden, n, position);
            }

            @Override
            public void close() {
                opened.forEach(SpanSession::close);
                if (closed.compareAndSet(false, true)) kvBytesInUse.addAndGet(-kv);
            }
        };
    }

    /** Through every span; the final span computes only the last row's last FFN (all the head reads). */
    private static float[] forwardLast(List<SpanSession> sessions, float[] hidden, int n, int position) {
        int last = sessions.size() - 1;
        for (int i = 0; i < last; i++) {
            hidden = sessions.get(i).forward(hidden, n, position);
        }
        return sessions.get(last).forward(hidden, n, position, true);
    }

    @Override
    public void close() {
        RuntimeException failure = null;
        for (int i = spans.size() - 1; i >= 0; i--) {
            try {
                spans.get(i).close();
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        }
        try {
            head.close();
        } catch (RuntimeException e) {
            if (failure == null) failure = e;
            else failure.addSuppressed(e);
        }
        if (failure != null) throw failure;
    }
}

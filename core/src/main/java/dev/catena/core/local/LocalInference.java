package dev.catena.core.local;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.Sampler;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.Span;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.SpanSession;

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

    private LocalInference(ModelHead head, List<Span> spans) {
        this.head = head;
        this.spans = spans;
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
            return new LocalInference(head, List.copyOf(spans));
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
     * Generates up to {@code n} tokens after {@code prompt} (BOS added as the vocabulary wants).
     *
     * @param stopAtEos  stop early at an end-of-generation token (which is not returned); else exactly n
     *
     * @param keepLogits keep the logits row that chose each token
     * @param onToken    called with each token as soon as it is chosen
     */
    public Generation generate(String prompt, int n, SamplingParams sampling, SessionOptions sessionOptions,
                               boolean stopAtEos, boolean keepLogits, IntConsumer onToken) {
        int[] promptTokens = head.tokenize(prompt, true);
        if ((long) promptTokens.length + n > sessionOptions.maxLength()) {
            throw new IllegalArgumentException("prompt (" + promptTokens.length + " tokens) + " + n
                    + " new tokens exceed max length " + sessionOptions.maxLength());
        }
        List<SpanSession> sessions = new ArrayList<>();
        try (Sampler sampler = head.sampler(sampling)) {
            for (Span s : spans) {
                sessions.add(s.openSession(sessionOptions));
            }
            for (int t : promptTokens) {
                sampler.accept(t);
            }
            List<float[]> logits = new ArrayList<>();
            int[] out = new int[n];
            int produced = 0;
            long startNanos = System.nanoTime();
            long firstTokenNanos = 0;
            float[] row = step(sessions, promptTokens, 0);
            while (produced < n) {
                if (keepLogits) logits.add(row);
                int token = sampler.sample(row);
                if (produced == 0) firstTokenNanos = System.nanoTime();
                if (stopAtEos && head.isEndOfGeneration(token)) {
                    break;
                }
                out[produced++] = token;
                onToken.accept(token);
                if (produced < n) {
                    row = step(sessions, new int[]{token}, promptTokens.length + produced - 1);
                }
            }
            long endNanos = System.nanoTime();
            int[] tokens = java.util.Arrays.copyOf(out, produced);
            int[] all = new int[promptTokens.length + produced];
            System.arraycopy(promptTokens, 0, all, 0, promptTokens.length);
            System.arraycopy(tokens, 0, all, promptTokens.length, produced);
            double decodeSeconds = (endNanos - firstTokenNanos) / 1e9;
            return new Generation(promptTokens, tokens, head.detokenize(all), List.copyOf(logits),
                    (firstTokenNanos - startNanos) / 1e9, produced > 1 ? (produced - 1) / decodeSeconds : 0);
        } finally {
            sessions.forEach(SpanSession::close);
        }
    }

    /** Runs {@code tokens} at {@code position} through every span; logits of the last token. */
    private float[] step(List<SpanSession> sessions, int[] tokens, int position) {
        float[] hidden = head.embed(tokens);
        int last = sessions.size() - 1;
        for (int i = 0; i < last; i++) {
            hidden = sessions.get(i).forward(hidden, tokens.length, position);
        }
        // The head reads only the last token: the final span computes just that row's last FFN.
        hidden = sessions.get(last).forward(hidden, tokens.length, position, true);
        return head.logits(hidden, 1, List.of(0));
    }

    /**
     * @param text            prompt and continuation, detokenized together
     * @param prefillSeconds  from the start to the first token's logits
     * @param tokensPerSecond decode speed after the first token
     */
    public record Generation(int[] promptTokens, int[] tokens, String text, List<float[]> logits,
                             double prefillSeconds, double tokensPerSecond) {
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

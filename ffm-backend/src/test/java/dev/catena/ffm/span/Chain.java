package dev.catena.ffm.span;

import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.Span;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.SpanSession;
import dev.catena.ffm.FfmSpanBackend;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Test helper: a head and spans chained in one process, stepping tokens through them. */
final class Chain implements AutoCloseable {
    final ModelHead head;
    final List<Span> spans = new ArrayList<>();
    final List<SpanSession> sessions = new ArrayList<>();
    /** The hidden states each span returned in the last step, for bitwise comparisons. */
    final List<float[]> lastHidden = new ArrayList<>();

    /** @param bounds block boundaries, e.g. {0, 2, 5} for spans [0,2) and [2,5) */
    Chain(Path model, int[] bounds, SessionOptions options, int threads) {
        var backend = FfmSpanBackend.instance();
        this.head = backend.openHead(model, SpanOptions.cpu(threads));
        for (int i = 0; i + 1 < bounds.length; i++) {
            Span span = backend.openSpan(model, bounds[i], bounds[i + 1], SpanOptions.cpu(threads));
            spans.add(span);
            sessions.add(span.openSession(options));
        }
    }

    /**
     * Runs tokens at position through every span; returns the logits of the last token. The final
     * span outputs only the last row, as LocalInference and llama.cpp do.
     */
    float[] step(int[] tokens, int position) {
        float[] hidden = head.embed(tokens);
        lastHidden.clear();
        for (int i = 0; i < sessions.size(); i++) {
            hidden = sessions.get(i).forward(hidden, tokens.length, position, i == sessions.size() - 1);
            lastHidden.add(hidden);
        }
        return head.logits(hidden, hidden.length / head.nEmbd(), List.of(hidden.length / head.nEmbd() - 1));
    }

    /** Greedy decoding: the prompt in one step, then one token per step; logits of every chosen token. */
    Generation greedy(int[] prompt, int n) {
        List<float[]> logits = new ArrayList<>();
        int[] out = new int[n];
        float[] l = step(prompt, 0);
        for (int i = 0; i < n; i++) {
            logits.add(l);
            out[i] = argmax(l);
            if (i + 1 < n) {
                l = step(new int[]{out[i]}, prompt.length + i);
            }
        }
        return new Generation(out, logits);
    }

    record Generation(int[] tokens, List<float[]> logits) {
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) best = i;
        }
        return best;
    }

    @Override
    public void close() {
        sessions.forEach(SpanSession::close);
        spans.forEach(Span::close);
        head.close();
    }
}

package dev.catena.core;

import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.Sampler;
import dev.catena.api.spi.SamplingParams;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Text generation around any chain of spans: the client head embeds, the chain runs the blocks,
 * the head turns the last row into logits and the sampler picks. The same loop drives a local
 * chain and a swarm, so their outputs can be compared token for token and logit for logit.
 */
public final class Generator {

    /** Runs hidden states {@code [n, nEmbd]} at {@code position} through every block; returns the last row. */
    @FunctionalInterface
    public interface Chain {
        float[] forwardLast(float[] hidden, int n, int position);
    }

    /**
     * @param text            prompt and continuation, detokenized together
     * @param logits          per generated token, the logits row that chose it (when kept)
     * @param prefillSeconds  from the start to the first token's logits
     * @param tokensPerSecond decode speed after the first token
     * @param stepMillis      wall time of each decode step (prompt excluded)
     */
    public record Generation(int[] promptTokens, int[] tokens, String text, List<float[]> logits,
                             double prefillSeconds, double tokensPerSecond, double[] stepMillis) {
    }

    private Generator() {
    }

    /**
     * Generates up to {@code n} tokens after {@code prompt} (BOS added as the vocabulary wants).
     *
     * @param stopAtEos stop early at an end-of-generation token (which is not returned); else exactly n
     * @param onToken   called with each token as soon as it is chosen
     */
    public static Generation generate(ModelHead head, Chain chain, String prompt, int n, SamplingParams sampling,
                                      int maxLength, boolean stopAtEos, boolean keepLogits, IntConsumer onToken) {
        int[] promptTokens = head.tokenize(prompt, true);
        if ((long) promptTokens.length + n > maxLength) {
            throw new IllegalArgumentException("prompt (" + promptTokens.length + " tokens) + " + n
                    + " new tokens exceed max length " + maxLength);
        }
        try (Sampler sampler = head.sampler(sampling)) {
            for (int t : promptTokens) {
                sampler.accept(t);
            }
            List<float[]> logits = new ArrayList<>();
            double[] stepMillis = new double[Math.max(0, n - 1)];
            int[] out = new int[n];
            int produced = 0;
            long start = System.nanoTime();
            float[] row = logitsOf(head, chain, promptTokens, 0);
            long firstToken = System.nanoTime();
            while (produced < n) {
                if (keepLogits) logits.add(row);
                int token = sampler.sample(row);
                if (stopAtEos && head.isEndOfGeneration(token)) {
                    break;
                }
                out[produced++] = token;
                onToken.accept(token);
                if (produced < n) {
                    long t0 = System.nanoTime();
                    row = logitsOf(head, chain, new int[]{token}, promptTokens.length + produced - 1);
                    stepMillis[produced - 1] = (System.nanoTime() - t0) / 1e6;
                }
            }
            long end = System.nanoTime();
            int[] tokens = Arrays.copyOf(out, produced);
            int[] all = new int[promptTokens.length + produced];
            System.arraycopy(promptTokens, 0, all, 0, promptTokens.length);
            System.arraycopy(tokens, 0, all, promptTokens.length, produced);
            double decodeSeconds = (end - firstToken) / 1e9;
            return new Generation(promptTokens, tokens, head.detokenize(all), List.copyOf(logits),
                    (firstToken - start) / 1e9, produced > 1 ? (produced - 1) / decodeSeconds : 0,
                    Arrays.copyOf(stepMillis, Math.max(0, produced - 1)));
        }
    }

    private static float[] logitsOf(ModelHead head, Chain chain, int[] tokens, int position) {
        float[] last = chain.forwardLast(head.embed(tokens), tokens.length, position);
        return head.logits(last, 1, List.of(0));
    }
}

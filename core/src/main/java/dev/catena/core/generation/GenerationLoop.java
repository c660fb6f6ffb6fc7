package dev.catena.core.generation;

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
 * <p>
 * An instance is the loop as a stepper: each {@link #next()} runs one forward pass (the prompt
 * first, then the token chosen last) and returns the next token, so a caller pulls tokens at its
 * own pace and can stop at any time. Not thread-safe.
 */
public final class GenerationLoop implements AutoCloseable {

    /** Runs hidden states {@code [n, nEmbd]} at {@code position} through every block; returns the last row. */
    @FunctionalInterface
    public interface Chain {
        /** Runs {@code hidden [n, nEmbd]} at {@code position} through every block; returns the last row {@code [nEmbd]}. */
        float[] forwardLast(float[] hidden, int n, int position);
    }

    /**
     * A chain that can also choose the tokens itself (ring mode: the last server samples and the
     * client verifies after the fact), told each generation's sampling before its first step.
     */
    public interface SamplingChain extends Chain {
        /**
         * @param history      every token the sampler accepts before its first sample
         * @param stopPosition no generated token is fed at this position or later
         */
        void generation(SamplingParams sampling, int[] history, int stopPosition, boolean stopAtEos);

        /** The token the chain chose after the last step it ran on its own, or -1 (a step the client drove, or none). */
        default int chosenToken() {
            return -1;
        }

        /** The last step's output and its token disagree: the next step (that one again) runs from the client's own copy. */
        default void rewind() {
        }
    }

    /** A chain holding resources (sessions and their KV) that its owner closes. */
    public interface Session extends Chain, AutoCloseable {
        @Override
        void close();
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

    private final ModelHead head;
    private final Chain chain;
    private Sampler sampler;
    private final int maxTokens;
    private final boolean stopAtEos;
    private final boolean keepLogits;
    private final List<float[]> logits = new ArrayList<>();
    private final List<Integer> tokens = new ArrayList<>();
    private final double[] stepMillis;
    private int[] feed;
    private int position;
    private boolean endOfText;
    private long started;
    private long firstToken;
    private long lastToken;

    /**
     * A loop that first runs {@code feed} at {@code position}, then generates up to {@code maxTokens}.
     *
     * @param history   every token before the ones to generate (for the sampler's penalties); ends with {@code feed}
     * @param feed      tokens not yet in the chain's KV cache (the prompt, or the rest of a conversation)
     * @param stopAtEos stop early at an end-of-generation token (which is not returned); else exactly maxTokens
     */
    public GenerationLoop(ModelHead head, Chain chain, int[] history, int[] feed, int position, int maxTokens,
                          SamplingParams sampling, boolean stopAtEos, boolean keepLogits) {
        if (maxTokens < 0) throw new IllegalArgumentException("maxTokens must be >= 0, got " + maxTokens);
        if (feed.length == 0 && maxTokens > 0) throw new IllegalArgumentException("nothing to feed: the prompt is empty");
        this.head = head;
        this.chain = chain;
        this.maxTokens = maxTokens;
        this.stopAtEos = stopAtEos;
        this.keepLogits = keepLogits;
        this.feed = feed.clone();
        this.position = position;
        this.stepMillis = new double[Math.max(0, maxTokens - 1)];
        this.sampler = head.sampler(sampling);
        for (int t : history) {
            sampler.accept(t);
        }
        // The ring needs this sampler copied to take a disagreeing step again; without copies the chain runs as usual.
        if (chain instanceof SamplingChain ring && maxTokens > 0 && copies(sampler)) {
            ring.generation(sampling, history, position + feed.length + maxTokens - 1, stopAtEos);
        }
    }

    private static boolean copies(Sampler sampler) {
        try {
            sampler.copy().close();
            return true;
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }

    /**
     * Runs the next forward pass and returns the token it chooses, or -1 when the generation is over
     * ({@code maxTokens} reached, or an end-of-generation token when stopping there).
     */
    public int next() {
        if (endOfText || tokens.size() >= maxTokens) {
            return -1;
        }
        long t0 = System.nanoTime();
        if (tokens.isEmpty()) started = t0;
        float[] hidden = head.embed(feed);
        float[] last = chain.forwardLast(hidden, feed.length, position);
        float[] row = head.logits(last, 1, List.of(0));
        int token = -1;
        if (chain instanceof SamplingChain ring && ring.chosenToken() >= 0) {
            // Ring mode: the servers chose a token from their final hidden state; this head and sampler must agree.
            Sampler before = sampler.copy();
            token = sampler.sample(row);
            if (token != ring.chosenToken()) {
                sampler.close();
                sampler = before;
                ring.rewind();
                last = chain.forwardLast(hidden, feed.length, position);
                row = head.logits(last, 1, List.of(0));
                token = sampler.sample(row);
            } else {
                before.close();
            }
        }
        position += feed.length;
        feed = new int[0];
        long t1 = System.nanoTime();
        if (token < 0) token = sampler.sample(row);
        if (tokens.isEmpty()) firstToken = t1;
        else stepMillis[tokens.size() - 1] = (t1 - t0) / 1e6;
        if (keepLogits) logits.add(row);
        if (stopAtEos && head.isEndOfGeneration(token)) {
            endOfText = true;
            lastToken = t1;
            return -1;
        }
        tokens.add(token);
        feed = new int[]{token};
        lastToken = t1;
        return token;
    }

    /** Whether the generation stopped at an end-of-generation token. */
    public boolean endOfText() {
        return endOfText;
    }

    /** The tokens generated so far. */
    public int[] tokens() {
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The position the next fed token takes: every token before it is in the chain's KV cache. */
    public int position() {
        return position;
    }

    /** Tokens chosen but not yet run through the chain (the last token, when the loop stopped after it). */
    public int[] pending() {
        return feed.clone();
    }

    /** Per generated token, the logits row that chose it (plus the end-of-generation row, when it stopped there). */
    public List<float[]> logits() {
        return List.copyOf(logits);
    }

    /** Seconds from the first forward pass to the first token's logits. */
    public double prefillSeconds() {
        return tokens.isEmpty() && !endOfText ? 0 : (firstToken - started) / 1e9;
    }

    /** Decode speed after the first token. */
    public double tokensPerSecond() {
        int produced = tokens.size();
        return produced > 1 ? (produced - 1) / ((lastToken - firstToken) / 1e9) : 0;
    }

    /** Wall time of each decode step so far (prompt excluded). */
    public double[] stepMillis() {
        return Arrays.copyOf(stepMillis, Math.max(0, tokens.size() - 1));
    }

    /** Closes the sampler; the chain belongs to the caller. */
    @Override
    public void close() {
        sampler.close();
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
        try (var loop = new GenerationLoop(head, chain, promptTokens, promptTokens, 0, n, sampling, stopAtEos, keepLogits)) {
            for (int token = loop.next(); token >= 0; token = loop.next()) {
                onToken.accept(token);
            }
            int[] tokens = loop.tokens();
            int[] all = new int[promptTokens.length + tokens.length];
            System.arraycopy(promptTokens, 0, all, 0, promptTokens.length);
            System.arraycopy(tokens, 0, all, promptTokens.length, tokens.length);
            return new Generation(promptTokens, tokens, head.detokenize(all), loop.logits(), loop.prefillSeconds(),
                    loop.tokensPerSecond(), loop.stepMillis());
        }
    }
}

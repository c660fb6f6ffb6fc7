package dev.catena.core;

import dev.catena.api.spi.SamplingParams;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What to generate: a prompt (text, or token ids), how many tokens, how to sample and when to stop.
 * Immutable; build one with {@link #builder(String)} or {@link #builder(int...)}.
 * <pre>{@code
 * var req = GenerationRequest.builder("Once upon a time").maxTokens(64).greedy().stop("\n\n").build();
 * }</pre>
 * The sampling defaults are llama.cpp's: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no
 * repeat penalty, seed 42.
 */
public final class GenerationRequest {
    private final String prompt;
    private final int[] promptTokens;
    private final int maxTokens;
    private final SamplingParams sampling;
    private final List<String> stop;
    private final boolean stopAtEndOfText;
    private final boolean keepLogits;

    private GenerationRequest(Builder b) {
        this.prompt = b.prompt;
        this.promptTokens = b.promptTokens;
        this.maxTokens = b.maxTokens;
        this.sampling = b.greedy ? SamplingParams.greedyDecoding()
                : new SamplingParams(false, b.temperature, b.topK, b.topP, b.minP, b.repeatPenalty, b.repeatLastN, b.seed);
        this.stop = List.copyOf(b.stop);
        this.stopAtEndOfText = b.stopAtEndOfText;
        this.keepLogits = b.keepLogits;
    }

    /** A builder for a text prompt; tokenized with BOS (as the vocabulary wants) when it starts a conversation. */
    public static Builder builder(String prompt) {
        return new Builder(Objects.requireNonNull(prompt, "prompt"), null);
    }

    /** A builder for a prompt given as token ids, run as they are (add BOS yourself when the model wants one). */
    public static Builder builder(int... promptTokens) {
        if (promptTokens.length == 0) throw new IllegalArgumentException("the prompt has no tokens");
        return new Builder(null, promptTokens.clone());
    }

    /** A builder for a prompt given as token ids; see {@link #builder(int...)}. */
    public static Builder builder(List<Integer> promptTokens) {
        return builder(promptTokens.stream().mapToInt(Integer::intValue).toArray());
    }

    /** The text prompt, or empty when the prompt is given as token ids. */
    public Optional<String> prompt() {
        return Optional.ofNullable(prompt);
    }

    /** The prompt's token ids when given as such, else empty. */
    public Optional<List<Integer>> promptTokens() {
        return promptTokens == null ? Optional.empty() : Optional.of(Arrays.stream(promptTokens).boxed().toList());
    }

    /** At most this many tokens are generated. */
    public int maxTokens() {
        return maxTokens;
    }

    /** Whether sampling takes the argmax (ties to the lowest id), ignoring the other sampling options. */
    public boolean greedy() {
        return sampling.greedy();
    }

    /** Sampling temperature (ignored when greedy). */
    public float temperature() {
        return sampling.temperature();
    }

    /** Top-k cut-off; 0 disables (ignored when greedy). */
    public int topK() {
        return sampling.topK();
    }

    /** Nucleus (top-p) cut-off; 1 disables (ignored when greedy). */
    public float topP() {
        return sampling.topP();
    }

    /** Min-p cut-off; 0 disables (ignored when greedy). */
    public float minP() {
        return sampling.minP();
    }

    /** Repeat penalty; 1 disables (ignored when greedy). */
    public float repeatPenalty() {
        return sampling.repeatPenalty();
    }

    /** Tokens the repeat penalty looks back over. */
    public int repeatLastN() {
        return sampling.repeatLastN();
    }

    /** Seed of the sampler's random numbers. */
    public long seed() {
        return sampling.seed();
    }

    /** Stop sequences: generation ends when the continuation contains one. */
    public List<String> stop() {
        return stop;
    }

    /** Whether an end-of-text token ends the generation (the default). */
    public boolean stopAtEndOfText() {
        return stopAtEndOfText;
    }

    /** Whether the result keeps every step's logits. */
    public boolean keepLogits() {
        return keepLogits;
    }

    SamplingParams sampling() {
        return sampling;
    }

    int[] promptTokenArray() {
        return promptTokens;
    }

    @Override
    public String toString() {
        return "GenerationRequest[" + (prompt != null ? "prompt=" + prompt : "promptTokens=" + Arrays.toString(promptTokens))
                + ", maxTokens=" + maxTokens + ", " + sampling + ", stop=" + stop + ", stopAtEndOfText=" + stopAtEndOfText
                + ", keepLogits=" + keepLogits + "]";
    }

    /** Builds a {@link GenerationRequest}; {@link #build()} checks the values. */
    public static final class Builder {
        private final String prompt;
        private final int[] promptTokens;
        private int maxTokens = 64;
        private boolean greedy;
        private float temperature = 0.8f;
        private int topK = 40;
        private float topP = 0.95f;
        private float minP = 0.05f;
        private float repeatPenalty = 1.0f;
        private int repeatLastN = 64;
        private long seed = 42;
        private List<String> stop = List.of();
        private boolean stopAtEndOfText = true;
        private boolean keepLogits;

        private Builder(String prompt, int[] promptTokens) {
            this.prompt = prompt;
            this.promptTokens = promptTokens;
        }

        /** At most this many new tokens (>= 1; default 64). */
        public Builder maxTokens(int maxTokens) {
            this.maxTokens = maxTokens;
            return this;
        }

        /** Argmax decoding (ties to the lowest id); the other sampling options are ignored. */
        public Builder greedy() {
            this.greedy = true;
            return this;
        }

        /** Sampling temperature (>= 0; default 0.8). */
        public Builder temperature(float temperature) {
            this.temperature = temperature;
            return this;
        }

        /** Keep only the k most likely tokens (0 disables; default 40). */
        public Builder topK(int topK) {
            this.topK = topK;
            return this;
        }

        /** Nucleus sampling: keep the most likely tokens up to this total probability (in (0, 1], 1 disables; default 0.95). */
        public Builder topP(float topP) {
            this.topP = topP;
            return this;
        }

        /** Drop tokens less likely than this fraction of the most likely one (in [0, 1], 0 disables; default 0.05). */
        public Builder minP(float minP) {
            this.minP = minP;
            return this;
        }

        /** Penalty for repeating tokens of the last {@link #repeatLastN} (> 0, 1 disables; default 1). */
        public Builder repeatPenalty(float repeatPenalty) {
            this.repeatPenalty = repeatPenalty;
            return this;
        }

        /** How many recent tokens the repeat penalty looks at (>= 0; default 64). */
        public Builder repeatLastN(int repeatLastN) {
            this.repeatLastN = repeatLastN;
            return this;
        }

        /** Seed of the sampler's random numbers (default 42): the same seed gives the same tokens. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Stop sequences (non-empty strings): generation ends once the continuation contains one, cut before it. */
        public Builder stop(String... sequences) {
            for (String s : sequences) {
                if (s == null || s.isEmpty()) throw new IllegalArgumentException("a stop sequence must not be empty");
            }
            this.stop = List.of(sequences);
            return this;
        }

        /** Whether an end-of-text token ends the generation (default true). */
        public Builder stopAtEndOfText(boolean stop) {
            this.stopAtEndOfText = stop;
            return this;
        }

        /** Generates through end-of-text tokens: exactly {@code maxTokens} unless a stop sequence comes first. */
        public Builder ignoreEos() {
            return stopAtEndOfText(false);
        }

        /** Keeps every step's logits in {@link Generation#logits()}. */
        public Builder keepLogits() {
            this.keepLogits = true;
            return this;
        }

        /**
         * The request.
         *
         * @throws IllegalArgumentException naming the option out of range
         */
        public GenerationRequest build() {
            if (maxTokens < 1) throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
            if (!greedy) {
                if (!(temperature >= 0)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
                if (topK < 0) throw new IllegalArgumentException("topK must be >= 0, got " + topK);
                if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
                if (!(minP >= 0 && minP <= 1)) throw new IllegalArgumentException("minP must be in [0, 1], got " + minP);
                if (!(repeatPenalty > 0)) throw new IllegalArgumentException("repeatPenalty must be > 0, got " + repeatPenalty);
                if (repeatLastN < 0) throw new IllegalArgumentException("repeatLastN must be >= 0, got " + repeatLastN);
            }
            return new GenerationRequest(this);
        }
    }
}

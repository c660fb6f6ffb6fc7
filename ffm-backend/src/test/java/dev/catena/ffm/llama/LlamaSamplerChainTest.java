package dev.catena.ffm.llama;

import dev.catena.api.spi.SamplingParams;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LlamaSamplerChainTest {
    static final int N_VOCAB = 512;

    static SamplingParams sampling(float temperature, int topK, float repeatPenalty, int repeatLastN, long seed) {
        return new SamplingParams(false, temperature, topK, 1f, 0f, repeatPenalty, repeatLastN, seed);
    }

    static float[] randomLogits(Random random) {
        float[] logits = new float[N_VOCAB];
        for (int i = 0; i < N_VOCAB; i++) {
            logits[i] = (float) (random.nextGaussian() * 3);
        }
        return logits;
    }

    static int argmaxLowestId(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** A copy goes on exactly as its original would (RNG and penalty window copied), and independently of it. */
    @Test
    void aCopyContinuesExactlyAsTheOriginal() {
        long seed = 20261201;
        Random random = new Random(seed);
        var params = new SamplingParams(false, 0.9f, 40, 0.95f, 0.05f, 1.1f, 16, 77);
        try (var original = LlamaSamplerChain.create(params, N_VOCAB)) {
            for (int row = 0; row < 20; row++) original.sample(randomLogits(random));
            float[][] rows = new float[40][];
            for (int i = 0; i < rows.length; i++) rows[i] = randomLogits(random);
            int[] fromCopy = new int[rows.length];
            int[] fromOriginal = new int[rows.length];
            try (var copy = original.copy()) {
                for (int i = 0; i < rows.length; i++) fromOriginal[i] = original.sample(rows[i]); // advancing the original first
                for (int i = 0; i < rows.length; i++) fromCopy[i] = copy.sample(rows[i]);         // leaves the copy where it was
            }
            assertArrayEquals(fromOriginal, fromCopy, "seed " + seed);
            assertTrue(Arrays.stream(fromOriginal).distinct().count() > 5, "sampled, not greedy: " + Arrays.toString(fromOriginal));
        }
    }

    /**
     * A ring's rewind point: a copy kept without sampling (its candidate buffers never allocated), closed or
     * copied again later. The copy of it goes on exactly as the original did from there; closing copies
     * that never sampled leaves the others working.
     */
    @Test
    void aCopyOfAnUnusedCopyContinuesExactlyAsTheOriginal() {
        long seed = 20261202;
        Random random = new Random(seed);
        var params = new SamplingParams(false, 0.8f, 20, 0.9f, 0f, 1.2f, 8, 5);
        try (var original = LlamaSamplerChain.create(params, N_VOCAB)) {
            for (int row = 0; row < 10; row++) original.sample(randomLogits(random));
            var kept = original.copy();
            for (int i = 0; i < 5; i++) original.copy().close(); // per-step copies evicted unused
            float[][] rows = new float[30][];
            for (int i = 0; i < rows.length; i++) rows[i] = randomLogits(random);
            int[] fromOriginal = new int[rows.length];
            for (int i = 0; i < rows.length; i++) fromOriginal[i] = original.sample(rows[i]);
            int[] fromRewound = new int[rows.length];
            try (var rewound = kept.copy()) {
                kept.close();
                for (int i = 0; i < rows.length; i++) fromRewound[i] = rewound.sample(rows[i]);
            }
            assertArrayEquals(fromOriginal, fromRewound, "seed " + seed);
            assertThrows(IllegalStateException.class, kept::copy);
        }
    }

    @Test
    void greedyIsArgmax() {
        Random random = new Random(1);
        try (var greedy = LlamaSamplerChain.create(SamplingParams.greedyDecoding(), N_VOCAB)) {
            for (int row = 0; row < 200; row++) {
                float[] logits = randomLogits(random);
                assertEquals(argmaxLowestId(logits), greedy.sample(logits), "row " + row);
            }
        }
    }

    @Test
    void greedyTiesGoToTheLowestId() {
        Random random = new Random(2);
        try (var greedy = LlamaSamplerChain.create(SamplingParams.greedyDecoding(), N_VOCAB)) {
            for (int row = 0; row < 50; row++) {
                float[] logits = randomLogits(random);
                int a = random.nextInt(N_VOCAB);
                int b = random.nextInt(N_VOCAB);
                logits[a] = 100f;
                logits[b] = 100f;
                assertEquals(Math.min(a, b), greedy.sample(logits), "tie between " + a + " and " + b);
            }
            assertEquals(0, greedy.sample(new float[N_VOCAB]), "all equal: id 0");
        }
    }

    @Test
    void topKOneIsGreedy() {
        Random random = new Random(3);
        try (var topK1 = LlamaSamplerChain.create(sampling(0.8f, 1, 1f, 0, 7), N_VOCAB);
             var greedy = LlamaSamplerChain.create(SamplingParams.greedyDecoding(), N_VOCAB)) {
            for (int row = 0; row < 200; row++) {
                float[] logits = randomLogits(random);
                if (row % 10 == 0) { // include ties
                    logits[row] = logits[argmaxLowestId(logits)] + 1;
                    logits[row + 100] = logits[row];
                }
                assertEquals(greedy.sample(logits), topK1.sample(logits), "row " + row);
            }
        }
    }

    static int[] draws(long seed, int n) {
        float[] flat = new float[N_VOCAB];
        try (var s = LlamaSamplerChain.create(sampling(1f, 0, 1f, 0, seed), N_VOCAB)) {
            int[] out = new int[n];
            for (int i = 0; i < n; i++) {
                out[i] = s.sample(flat);
            }
            return out;
        }
    }

    @Test
    void aSeedFixesTheSequence() {
        int[] first = draws(42, 200);
        assertArrayEquals(first, draws(42, 200), "same seed, same params, same logits");
        int[] other = draws(43, 200);
        assertFalse(Arrays.equals(first, other), "seeds 42 and 43 drew the same 200 tokens");
        long distinct = Arrays.stream(first).distinct().count();
        assertTrue(distinct > 100, "200 draws from a flat distribution over 512 gave only " + distinct + " distinct ids");
    }

    @Test
    void repetitionPenaltyChangesTheChoice() {
        float[] logits = new float[N_VOCAB];
        Arrays.fill(logits, -5f);
        logits[5] = 2.0f;
        logits[7] = 1.9f; // 2.0 / 1.5 = 1.33 < 1.9
        try (var penalised = LlamaSamplerChain.create(sampling(1f, 1, 1.5f, 64, 1), N_VOCAB);
             var plain = LlamaSamplerChain.create(sampling(1f, 1, 1f, 64, 1), N_VOCAB)) {
            assertEquals(5, penalised.sample(logits), "first draw: nothing to penalise yet");
            assertEquals(7, penalised.sample(logits), "5 was just drawn (and accepted), so its logit is divided by 1.5");
            assertEquals(5, penalised.sample(logits), "both penalised: 1.33 > 1.27");
            assertEquals(5, plain.sample(logits));
            assertEquals(5, plain.sample(logits), "no penalty, no change");
        }
        try (var penalised = LlamaSamplerChain.create(sampling(1f, 1, 1.5f, 64, 1), N_VOCAB)) {
            penalised.accept(5); // a prompt token counts too
            assertEquals(7, penalised.sample(logits), "a prompt token is penalised");
        }
    }

    @Test
    void rejectsBadInput() {
        try (var s = LlamaSamplerChain.create(SamplingParams.greedyDecoding(), N_VOCAB)) {
            assertThrows(IllegalArgumentException.class, () -> s.sample(new float[N_VOCAB - 1]));
            assertThrows(IllegalArgumentException.class, () -> s.accept(N_VOCAB));
        }
        assertThrows(IllegalArgumentException.class, () -> LlamaSamplerChain.create(sampling(1f, 0, 1.1f, -1, 0), N_VOCAB));
        assertThrows(IllegalArgumentException.class, () -> LlamaSamplerChain.create(SamplingParams.greedyDecoding(), 0));
        var closed = LlamaSamplerChain.create(SamplingParams.greedyDecoding(), N_VOCAB);
        closed.close();
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.sample(new float[N_VOCAB]));
    }
}

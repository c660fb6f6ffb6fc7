package dev.catena.ffm.llama;

import dev.catena.api.spi.ReferenceDecoder;
import dev.catena.api.spi.ReferenceOptions;
import dev.catena.api.spi.ReferenceOptions.FlashAttention;
import dev.catena.api.spi.SessionOptions.KvType;
import dev.catena.ffm.FfmSpanBackend;
import dev.catena.ffm.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * llama.cpp's own decode against the reference outputs in {@code models/stories260K.expected.json}
 * (llama.cpp v0.5.0, CPU, n_ctx 512, flash attention auto = on, F16 KV cache: the oracle's defaults).
 */
class LlamaOracleTest {
    static final float LOGIT_TOLERANCE = 1e-3f;
    static LlamaOracle oracle;

    @BeforeAll
    static void open() {
        oracle = LlamaOracle.open(TestModels.stories260K(), OracleOptions.defaults().withThreads(1));
    }

    @AfterAll
    static void close() {
        if (oracle != null) {
            oracle.close();
        }
    }

    @Test
    void reproducesBothReferenceGenerations() {
        List<ExpectedOutputs.Generation> cases = ExpectedOutputs.generations();
        assertEquals(2, cases.size());
        float maxDiff = 0;
        for (var c : cases) {
            assertArrayEquals(c.promptIds(), oracle.tokenize(c.prompt(), true), "prompt ids of \"" + c.prompt() + "\"");
            LlamaOracle.Result r = oracle.generateGreedy(c.promptIds(), c.nPredict(), true);
            assertArrayEquals(c.generatedIds(), r.tokens(), () -> "generated ids for \"" + c.prompt() + "\": first difference at "
                    + firstDifference(c.generatedIds(), r.tokens()));
            assertEquals(c.nPredict(), r.logits().length, "one logits row per generated token");
            assertEquals(c.fullText(), oracle.detokenize(concat(c.promptIds(), r.tokens())), "full text of \"" + c.prompt() + "\"");
            assertEquals(c.continuationText(), oracle.model().vocab().continuation(r.tokens()), "continuation of \"" + c.prompt() + "\"");

            float[] first = r.logits()[0];
            int[] top5 = topK(first, 5);
            assertArrayEquals(c.top5Ids(), top5, "top-5 ids after \"" + c.prompt() + "\"");
            for (int i = 0; i < 5; i++) {
                float diff = Math.abs(first[c.top5Ids()[i]] - c.top5Logits()[i]);
                maxDiff = Math.max(maxDiff, diff);
                assertTrue(diff <= LOGIT_TOLERANCE, "logit of " + c.top5Ids()[i] + " after \"" + c.prompt() + "\": expected "
                        + c.top5Logits()[i] + ", got " + first[c.top5Ids()[i]] + " (|diff| " + diff + " > " + LOGIT_TOLERANCE + ")");
            }
        }
        System.out.printf("LlamaOracleTest: max |logit - expected| over the top-5 of both cases: %.3g%n", maxDiff);
    }

    @Test
    void truncateAndRedecodeGivesBitwiseTheSameLogits() {
        int[] prompt = ExpectedOutputs.generations().getFirst().promptIds();
        oracle.truncate(0);
        float[] afterPrompt = oracle.decode(prompt, 0);
        float[] step1 = oracle.decode(new int[]{432}, prompt.length);
        float[] step2 = oracle.decode(new int[]{383}, prompt.length + 1);
        assertEquals(prompt.length + 2, oracle.length());

        oracle.truncate(prompt.length);
        assertArrayEquals(step1, oracle.decode(new int[]{432}, prompt.length), "step 1 after dropping steps 1-2");
        assertArrayEquals(step2, oracle.decode(new int[]{383}, prompt.length + 1), "step 2 after dropping steps 1-2");

        oracle.truncate(0);
        assertArrayEquals(afterPrompt, oracle.decode(prompt, 0), "the prompt after dropping everything");
    }

    @Test
    void decodeChecksPositions() {
        int[] prompt = ExpectedOutputs.generations().getFirst().promptIds();
        oracle.truncate(0);
        oracle.decode(prompt, 0);
        var e = assertThrows(IllegalArgumentException.class, () -> oracle.decode(new int[]{432}, 2));
        assertTrue(e.getMessage().contains("truncate(2)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> oracle.decode(new int[]{512}, prompt.length), "token outside the vocabulary");
        assertThrows(IllegalArgumentException.class, () -> oracle.truncate(prompt.length + 1));
        assertThrows(IllegalArgumentException.class, () -> oracle.generateGreedy(prompt, 600, false), "more than n_ctx");
    }

    @Test
    void oneAndTwoThreadsGiveBitwiseEqualLogits() {
        int[] prompt = ExpectedOutputs.generations().getFirst().promptIds();
        LlamaOracle.Result one;
        LlamaOracle.Result two;
        // 8 tokens only: on a busy 2-core machine 2 spinning ggml threads can be a hundred times slower.
        try (var o1 = LlamaOracle.open(TestModels.stories260K(), OracleOptions.defaults().withThreads(1))) {
            one = o1.generateGreedy(prompt, 8, true);
        }
        try (var o2 = LlamaOracle.open(TestModels.stories260K(), OracleOptions.defaults().withThreads(2))) {
            two = o2.generateGreedy(prompt, 8, true);
        }
        assertArrayEquals(one.tokens(), two.tokens());
        for (int i = 0; i < 8; i++) {
            assertArrayEquals(one.logits()[i], two.logits()[i], "logits row " + i + ", 1 vs 2 threads");
        }
    }

    @Test
    void otherAttentionAndCacheSettingsStayClose() {
        var c = ExpectedOutputs.generations().getFirst();
        LlamaOracle.Result reference = oracle.generateGreedy(c.promptIds(), 64, true);
        OracleOptions base = OracleOptions.defaults().withThreads(1);
        for (var opts : List.of(base.withFlashAttention(FlashAttention.OFF), base.withFlashAttention(FlashAttention.ON),
                base.withKvType(KvType.F32), base.withFlashAttention(FlashAttention.OFF).withKvType(KvType.F32))) {
            try (var other = LlamaOracle.open(TestModels.stories260K(), opts)) {
                LlamaOracle.Result r = other.generateGreedy(c.promptIds(), 64, true);
                float maxDiff = 0;
                int rows = Math.min(firstDifference(reference.tokens(), r.tokens()) + 1, 64);
                for (int i = 0; i < rows; i++) {
                    maxDiff = Math.max(maxDiff, maxAbsDiff(reference.logits()[i], r.logits()[i]));
                }
                System.out.printf("LlamaOracleTest: flash attention %s, KV %s: tokens %s the default's, max |logit diff| %.3g over %d rows%n",
                        opts.flashAttention(), opts.kvType(), Arrays.equals(reference.tokens(), r.tokens()) ? "equal" : "differ from",
                        maxDiff, rows);
                assertTrue(maxDiff < 0.05f, opts + ": logits moved by " + maxDiff);
            }
        }
    }

    @Test
    void timesSixtyFourTokens() {
        int[] prompt = ExpectedOutputs.generations().getFirst().promptIds();
        oracle.generateGreedy(prompt, 64, false); // warm-up
        int runs = 20;
        long start = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            oracle.generateGreedy(prompt, 64, false);
        }
        double ms = (System.nanoTime() - start) / 1e6 / runs;
        System.out.printf("LlamaOracleTest: prompt of %d + 64 generated tokens: %.2f ms (%.0f tokens/s), 1 thread%n",
                prompt.length, ms, 64 / (ms / 1000));
    }

    @Test
    void isReachableThroughTheSpi() {
        var c = ExpectedOutputs.generations().get(1);
        try (ReferenceDecoder ref = FfmSpanBackend.instance().openReference(TestModels.stories260K(), ReferenceOptions.defaults(1))) {
            assertEquals(512, ref.nVocab());
            int[] prompt = ref.tokenize(c.prompt(), true);
            assertArrayEquals(c.promptIds(), prompt);
            var g = ref.generateGreedy(prompt, c.nPredict(), false);
            assertArrayEquals(c.generatedIds(), g.tokens());
            assertEquals(0, g.logits().length, "no logits unless asked for");
            assertEquals(c.fullText(), ref.detokenize(concat(prompt, g.tokens())));
        }
    }

    @Test
    void useAfterCloseIsAnIllegalStateException() {
        var o = LlamaOracle.open(TestModels.stories260K(), OracleOptions.defaults().withThreads(1));
        o.close();
        o.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> o.decode(new int[]{1}, 0));
        assertThrows(IllegalStateException.class, () -> o.tokenize("x", true));
    }

    static int[] topK(float[] logits, int k) {
        return IntStream.range(0, logits.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -logits[i]).thenComparingInt(i -> i))
                .limit(k).mapToInt(Integer::intValue).toArray();
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static int firstDifference(int[] a, int[] b) {
        int m = Arrays.mismatch(a, b);
        return m < 0 ? Math.max(a.length, b.length) : m;
    }

    static float maxAbsDiff(float[] a, float[] b) {
        float max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}

package dev.catena.ffm.span;

import dev.catena.api.spi.ReferenceOptions.FlashAttention;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SessionOptions.KvType;
import dev.catena.ffm.TestModels;
import dev.catena.ffm.llama.LlamaOracle;
import dev.catena.ffm.llama.OracleOptions;
import dev.catena.ffm.testmodel.ModelSpec;
import dev.catena.ffm.testmodel.TestModelCache;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Catena's span compute against llama.cpp's own llama_decode on the same file, through the same
 * natives. Both sides use the same attention arithmetic (LLAMACPP-NOTES.md): flash attention over
 * an F16 cache (llama.cpp's default on the CPU), or plain attention over an F32 cache; the same
 * weight buffer types (repacked where llama.cpp repacks); and the same graph, including the last
 * block's FFN on the output row alone. So the logits must be equal to the bit, not just close:
 * every comparison here is exact, whatever the split into spans.
 */
class OracleAgreementTest {

    static final String STORY = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
            + "One day, she saw a big, red ball. She wanted to play with it, but it was too high. Lily's mom said ";

    static OracleOptions oracleOptions(KvType kv) {
        return new OracleOptions(512, 1, kv == KvType.F16 ? FlashAttention.AUTO : FlashAttention.OFF, kv, 0, 0);
    }

    /** Greedy tokens and every step's logits equal for {@code n} steps (the differences are printed first). */
    static void compare(Path model, int[] prompt, int n, KvType kv, int[] split) {
        try (var oracle = LlamaOracle.open(model, oracleOptions(kv));
             var chain = new Chain(model, split, new SessionOptions(512, kv), 1)) {
            var expected = oracle.generateGreedy(prompt, n, true);
            var actual = chain.greedy(prompt, n);
            assertArrayEquals(expected.tokens(), actual.tokens(), "greedy tokens, KV " + kv);
            double maxAbs = 0, maxRel = 0;
            for (int i = 0; i < n; i++) {
                float[] e = expected.logits()[i];
                float[] a = actual.logits().get(i);
                double scale = 0;
                for (float v : e) scale = Math.max(scale, Math.abs(v));
                for (int j = 0; j < e.length; j++) {
                    double d = Math.abs(e[j] - a[j]);
                    maxAbs = Math.max(maxAbs, d);
                    maxRel = Math.max(maxRel, d / scale);
                }
            }
            System.out.printf("%s KV %s split %s, %d tokens: max |logit diff| %.3g, relative %.3g%n",
                    model.getFileName(), kv, Arrays.toString(split), n, maxAbs, maxRel);
            for (int i = 0; i < n; i++) {
                assertArrayEquals(expected.logits()[i], actual.logits().get(i), model.getFileName() + " step " + i);
            }
        }
    }

    @Test
    void tinyStories128TokensF16Cache() {
        int[] prompt = {1, 403, 407, 261, 378};
        compare(TestModels.stories260K(), prompt, 128, KvType.F16, new int[]{0, 5});
    }

    @Test
    void tinyStories128TokensF32CacheSplit() {
        int[] prompt = {1, 403, 407, 261, 378};
        compare(TestModels.stories260K(), prompt, 128, KvType.F32, new int[]{0, 2, 5});
    }

    /** Random-weight models with real shapes, quantization and vocabularies: full logit rows compared, not just tokens. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("generatedModels")
    void generatedModels64Tokens(String name, ModelSpec spec, int[] split) {
        Path model = TestModelCache.get(spec);
        int[] prompt = {1, 450, 4996, 17354, 1701, 432, 2149, 75, 6003, 9};
        compare(model, prompt, 64, KvType.F16, split);
    }

    static Stream<Arguments> generatedModels() {
        return Stream.of(
                Arguments.of("GQA 4:1, head_dim 64, Q8_0, llama-bpe", ModelSpec.tinyLlamaGqa(), new int[]{0, 4}),
                Arguments.of("head_dim 128, Q8_0", ModelSpec.headDim128Q8(), new int[]{0, 1, 2}),
                Arguments.of("Q4_K (repacked on the CPU)", ModelSpec.q4k(), new int[]{0, 3}),
                Arguments.of("qwen2 with QKV biases, F16", ModelSpec.qwen2Biases(), new int[]{0, 2, 3}),
                Arguments.of("5 layers, Q6_K", ModelSpec.oddLayers(), new int[]{0, 3, 5}),
                Arguments.of("Q4_0 (repacked on the CPU)", ModelSpec.headDim128Q8().withWeightType(ModelSpec.WeightType.Q4_0)
                        .withName("head-dim-128-q4-0"), new int[]{0, 2}),
                Arguments.of("BF16", ModelSpec.headDim128Q8().withWeightType(ModelSpec.WeightType.BF16)
                        .withName("head-dim-128-bf16"), new int[]{0, 1, 2}));
    }

    @Test
    void longPromptPrefillThenDecode() {
        try (var oracle = LlamaOracle.open(TestModels.stories260K(), oracleOptions(KvType.F16))) {
            int[] prompt = oracle.tokenize(STORY.repeat(4), true); // about 300 tokens in one prefill step
            assertTrue(prompt.length > 256, "prompt spans more than one 256-cell KV block: " + prompt.length);
            compare(TestModels.stories260K(), prompt, 32, KvType.F16, new int[]{0, 3, 5});
        }
    }

    @Test
    void truncateThenDecodeAgain() {
        int[] prompt = {1, 403, 407, 261, 378};
        try (var oracle = LlamaOracle.open(TestModels.stories260K(), oracleOptions(KvType.F16));
             var chain = new Chain(TestModels.stories260K(), new int[]{0, 2, 5}, SessionOptions.of(512), 1)) {
            oracle.decode(prompt, 0);
            chain.step(prompt, 0);
            int[] first = {432, 383, 286, 261, 376, 298};
            for (int i = 0; i < first.length; i++) {
                oracle.decode(new int[]{first[i]}, prompt.length + i);
                chain.step(new int[]{first[i]}, prompt.length + i);
            }
            // Rewind to just after the prompt + 2 tokens and take another path.
            int at = prompt.length + 2;
            oracle.truncate(at);
            chain.sessions.forEach(s -> s.truncate(at));
            int[] other = {298, 315, 421};
            for (int i = 0; i < other.length; i++) {
                float[] e = oracle.decode(new int[]{other[i]}, at + i);
                float[] a = chain.step(new int[]{other[i]}, at + i);
                assertArrayEquals(e, a, "after truncate, step " + i);
            }
            // A re-send at an earlier position (no explicit truncate) must give the same as the first time.
            float[] again = chain.step(new int[]{other[0]}, at);
            float[] firstTime = chain.step(new int[]{other[0]}, at);
            assertArrayEquals(firstTime, again, "re-send at the same position is deterministic");
        }
    }
}

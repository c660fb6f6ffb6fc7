package dev.catena.ffm.span;

import dev.catena.api.spi.BatchStep;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SessionOptions.KvType;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.SpanSession;
import dev.catena.ffm.FfmSpanBackend;
import dev.catena.ffm.TestModels;
import dev.catena.ffm.llama.LlamaSequences;
import dev.catena.ffm.testmodel.ModelSpec;
import dev.catena.ffm.testmodel.TestModelCache;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * A batch of sessions' decode steps against llama.cpp's batched decode of the same sequences (one
 * {@code llama_decode} with a token of each sequence, {@code kv_unified} off): logits equal to the
 * bit, also for the weight types whose matmul rounds differently at one row and at several (F32,
 * F16, repacked Q4_K), where the batch cannot equal each session's solo run.
 */
class BatchedOracleAgreementTest {
    private static final long SEED = 0x15_0003L;
    private static final int STEPS = 12;

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("TinyStories (F32)", TestModels.stories260K(), KvType.F16, 4),
                Arguments.of("TinyStories (F32), F32 KV", TestModels.stories260K(), KvType.F32, 3),
                Arguments.of("Q4_K (repacked)", TestModelCache.get(ModelSpec.q4k()), KvType.F16, 4),
                Arguments.of("head_dim 128, Q8_0", TestModelCache.get(ModelSpec.headDim128Q8()), KvType.F16, 8));
    }

    @ParameterizedTest(name = "{0}, B = {3}")
    @MethodSource("cases")
    void batchedLogitsEqualLlamaCppsBatchedDecode(String name, Path model, KvType kv, int b) {
        var backend = FfmSpanBackend.instance();
        int nLayer = backend.inspect(model).nLayer();
        try (LlamaSequences llama = LlamaSequences.open(model, OracleAgreementTest.oracleOptions(kv).withNCtx(256), b);
             ModelHead head = backend.openHead(model, SpanOptions.cpu(1));
             var span = backend.openSpan(model, 0, nLayer, SpanOptions.cpu(1))) {
            Random r = new Random(SEED + b);
            List<SpanSession> sessions = new ArrayList<>();
            int[] next = new int[b];
            int[] length = new int[b];
            for (int s = 0; s < b; s++) {
                int[] prompt = IntStream.range(0, 2 + r.nextInt(20)).map(i -> 3 + r.nextInt(head.nVocab() - 3)).toArray();
                float[] expected = llama.prefill(s, prompt);
                SpanSession session = span.openSession(new SessionOptions(256, kv));
                sessions.add(session);
                float[] actual = head.logits(session.forward(head.embed(prompt), prompt.length, 0, true), 1, List.of(0));
                assertArrayEquals(expected, actual, name + ": prompt of sequence " + s + " (seed " + (SEED + b) + ")");
                next[s] = argmax(actual);
                length[s] = prompt.length;
            }
            for (int t = 0; t < STEPS; t++) {
                float[][] expected = llama.decodeEach(next);
                float[] embedded = head.embed(next);
                int nEmbd = embedded.length / b;
                List<BatchStep> steps = new ArrayList<>();
                for (int s = 0; s < b; s++) {
                    float[] row = java.util.Arrays.copyOfRange(embedded, s * nEmbd, (s + 1) * nEmbd);
                    steps.add(BatchStep.decode(sessions.get(s), row, length[s], true));
                }
                var results = span.forwardBatch(steps);
                float[] hidden = new float[b * nEmbd];
                for (int s = 0; s < b; s++) {
                    System.arraycopy(results.get(s).get(), 0, hidden, s * nEmbd, nEmbd);
                }
                // All rows through the head at once, as llama.cpp computes the batch's logits.
                float[] logits = head.logits(hidden, b, IntStream.range(0, b).boxed().toList());
                for (int s = 0; s < b; s++) {
                    float[] actual = java.util.Arrays.copyOfRange(logits, s * head.nVocab(), (s + 1) * head.nVocab());
                    assertArrayEquals(expected[s], actual, name + ": step " + t + " of sequence " + s + " (seed " + (SEED + b) + ")");
                    next[s] = argmax(actual);
                    length[s]++;
                }
            }
            sessions.forEach(SpanSession::close);
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}

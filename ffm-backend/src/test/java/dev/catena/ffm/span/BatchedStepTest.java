package dev.catena.ffm.span;

import dev.catena.api.SpanInputException;
import dev.catena.api.spi.BatchStep;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.SpanSession;
import dev.catena.ffm.FfmSpanBackend;
import dev.catena.ffm.testmodel.ModelSpec;
import dev.catena.ffm.testmodel.TestModelCache;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Decode steps of several sessions computed in one graph ({@link FfmSpan#forwardBatch}) give each
 * session bit for bit what its own steps give.
 */
class BatchedStepTest {
    private static final long SEED = 0x15_0002L;
    private static final int DECODE_STEPS = 6;

    /**
     * Weight types whose CPU matmul gives a row the same result at every batch size. F32, F16 and
     * BF16 weights and repacked Q4_K do not (their kernels for several rows accumulate in another
     * order, about 1 ulp apart): a batch of those agrees with llama.cpp's batched decode instead.
     */
    static Stream<Arguments> cases() {
        Path q8 = TestModelCache.get(ModelSpec.headDim128Q8());
        return Stream.of(
                Arguments.of("head_dim 128, Q8_0", q8, SessionOptions.of(512), 2),
                Arguments.of("head_dim 128, Q8_0", q8, SessionOptions.of(512), 4),
                Arguments.of("head_dim 128, Q8_0", q8, SessionOptions.of(512), 8),
                Arguments.of("head_dim 128, Q8_0, F32 KV", q8, new SessionOptions(512, SessionOptions.KvType.F32), 4),
                Arguments.of("GQA 4:1, Q8_0", TestModelCache.get(ModelSpec.tinyLlamaGqa()), SessionOptions.of(512), 4),
                Arguments.of("5 layers, Q6_K", TestModelCache.get(ModelSpec.oddLayers()), SessionOptions.of(512), 4),
                Arguments.of("Q4_0 (repacked)", TestModelCache.get(ModelSpec.headDim128Q8().withWeightType(ModelSpec.WeightType.Q4_0)),
                        SessionOptions.of(512), 4));
    }

    @ParameterizedTest(name = "{0}, B = {3}")
    @MethodSource("cases")
    void eachSessionOfABatchGetsItsSoloResult(String name, Path model, SessionOptions options, int b) {
        long seed = SEED + b;
        try (var span = (FfmSpan) FfmSpanBackend.instance().openSpan(model, 0, blocks(model), SpanOptions.cpu(1))) {
            int nEmbd = span.hparams().nEmbd();
            Inputs in = new Inputs(seed, b, nEmbd);
            float[][][] solo = new float[b][][];
            for (int s = 0; s < b; s++) {
                try (SpanSession session = span.openSession(options)) {
                    session.forward(in.prompts[s], in.prompts[s].length / nEmbd, 0);
                    solo[s] = new float[DECODE_STEPS][];
                    for (int t = 0; t < DECODE_STEPS; t++) {
                        solo[s][t] = session.forward(in.decode[s][t], 1, in.length(s) + t, true);
                    }
                }
            }
            List<SpanSession> sessions = open(span, options, in, nEmbd);
            for (int t = 0; t < DECODE_STEPS; t++) {
                List<BatchStep> steps = new ArrayList<>();
                for (int s = 0; s < b; s++) {
                    steps.add(BatchStep.decode(sessions.get(s), in.decode[s][t], in.length(s) + t, true));
                }
                List<BatchStep.Result> results = span.forwardBatch(steps);
                for (int s = 0; s < b; s++) {
                    assertArrayEquals(solo[s][t], results.get(s).get(), name + " B=" + b + " session " + s + " step " + t
                            + " (seed " + seed + ")");
                    assertEquals(in.length(s) + t + 1, sessions.get(s).length());
                }
            }
            sessions.forEach(SpanSession::close);
            assertEquals(0, span.kvBytesInUse());
        }
    }

    /**
     * Prefill steps (several tokens, all rows or only the last one out) share a batch with other
     * sessions' decode steps, and every session still gets its solo result; then all decode together.
     */
    @Test
    void prefillsAndDecodeStepsShareABatch() {
        Path model = TestModelCache.get(ModelSpec.headDim128Q8());
        SessionOptions options = SessionOptions.of(512);
        int[] rows = {1, 7, 1, 5};
        boolean[] lastOnly = {true, false, false, true};
        try (var span = (FfmSpan) FfmSpanBackend.instance().openSpan(model, 0, blocks(model), SpanOptions.cpu(1))) {
            int nEmbd = span.hparams().nEmbd();
            Inputs in = new Inputs(SEED + 7, 4, nEmbd);
            Random r = new Random(SEED + 7);
            float[][] chunk = new float[4][];
            float[][][] solo = new float[4][2][];
            for (int s = 0; s < 4; s++) {
                chunk[s] = rows[s] == 1 ? in.decode[s][0] : Inputs.gaussian(r, rows[s] * nEmbd);
                try (SpanSession session = span.openSession(options)) {
                    session.forward(in.prompts[s], in.prompts[s].length / nEmbd, 0);
                    solo[s][0] = session.forward(chunk[s], rows[s], in.length(s), lastOnly[s]);
                    solo[s][1] = session.forward(in.decode[s][1], 1, in.length(s) + rows[s], true);
                }
            }
            List<SpanSession> sessions = open(span, options, in, nEmbd);
            List<BatchStep> mixed = new ArrayList<>();
            List<BatchStep> decode = new ArrayList<>();
            for (int s = 0; s < 4; s++) {
                mixed.add(new BatchStep(sessions.get(s), chunk[s], rows[s], in.length(s), lastOnly[s]));
                decode.add(BatchStep.decode(sessions.get(s), in.decode[s][1], in.length(s) + rows[s], true));
            }
            var first = span.forwardBatch(mixed);
            var second = span.forwardBatch(decode);
            for (int s = 0; s < 4; s++) {
                assertArrayEquals(solo[s][0], first.get(s).get(), "session " + s + ": its " + rows[s] + " rows");
                assertArrayEquals(solo[s][1], second.get(s).get(), "session " + s + ": the decode step after");
            }
            sessions.forEach(SpanSession::close);
            assertEquals(0, span.kvBytesInUse());
        }
    }

    /** A bad step, a closed session or a position gap fails alone; the others get their solo results. */
    @Test
    void aFailingStepDoesNotDisturbTheOthers() {
        Path model = TestModelCache.get(ModelSpec.headDim128Q8());
        SessionOptions options = SessionOptions.of(256);
        try (var span = (FfmSpan) FfmSpanBackend.instance().openSpan(model, 0, blocks(model), SpanOptions.cpu(1))) {
            int nEmbd = span.hparams().nEmbd();
            Inputs in = new Inputs(SEED, 5, nEmbd);
            float[][] solo = new float[5][];
            for (int s = 0; s < 5; s++) {
                try (SpanSession session = span.openSession(options)) {
                    session.forward(in.prompts[s], in.prompts[s].length / nEmbd, 0);
                    solo[s] = session.forward(in.decode[s][0], 1, in.length(s), false);
                }
            }
            List<SpanSession> sessions = open(span, options, in, nEmbd);
            sessions.get(1).close();
            float[] nan = in.decode[2][0].clone();
            nan[3] = Float.NaN;
            var results = span.forwardBatch(List.of(
                    BatchStep.decode(sessions.get(0), in.decode[0][0], in.length(0), false),
                    BatchStep.decode(sessions.get(1), in.decode[1][0], in.length(1), false),
                    BatchStep.decode(sessions.get(2), nan, in.length(2), false),
                    BatchStep.decode(sessions.get(3), in.decode[3][0], in.length(3) + 1, false),
                    BatchStep.decode(sessions.get(4), in.decode[4][0], in.length(4), false)));
            assertArrayEquals(solo[0], results.get(0).get());
            assertInstanceOf(IllegalStateException.class, results.get(1).error());
            assertInstanceOf(SpanInputException.class, results.get(2).error());
            assertInstanceOf(SpanInputException.class, results.get(3).error());
            assertArrayEquals(solo[4], results.get(4).get());
            assertNull(results.get(4).error());
            assertEquals(in.length(2), sessions.get(2).length(), "a failed step leaves its session as it was");
            assertArrayEquals(solo[2], sessions.get(2).forward(in.decode[2][0], 1, in.length(2)), "and still usable");
            sessions.forEach(SpanSession::close);
            assertEquals(0, span.kvBytesInUse());
        }
    }

    private static int blocks(Path model) {
        return dev.catena.ffm.model.ModelHparams.of(dev.catena.ffm.gguf.GgufFile.read(model)).nLayer();
    }

    private static List<SpanSession> open(FfmSpan span, SessionOptions options, Inputs in, int nEmbd) {
        List<SpanSession> sessions = new ArrayList<>();
        for (int s = 0; s < in.prompts.length; s++) {
            SpanSession session = span.openSession(options);
            session.forward(in.prompts[s], in.prompts[s].length / nEmbd, 0);
            sessions.add(session);
        }
        return sessions;
    }

    /** Seeded hidden states: per session a prompt of its own length (one crosses 256 cells as it decodes), then decode rows. */
    private static final class Inputs {
        final float[][] prompts;
        final float[][][] decode;

        Inputs(long seed, int b, int nEmbd) {
            Random r = new Random(seed);
            prompts = new float[b][];
            decode = new float[b][DECODE_STEPS][];
            for (int s = 0; s < b; s++) {
                int n = s == 1 ? 253 : 1 + r.nextInt(40);
                prompts[s] = gaussian(r, n * nEmbd);
                for (int t = 0; t < DECODE_STEPS; t++) {
                    decode[s][t] = gaussian(r, nEmbd);
                }
            }
        }

        int length(int s) {
            return prompts[s].length / decode[s][0].length;
        }

        static float[] gaussian(Random r, int n) {
            float[] x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) r.nextGaussian();
            }
            return x;
        }
    }
}

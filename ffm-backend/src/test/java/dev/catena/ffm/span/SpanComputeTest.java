package dev.catena.ffm.span;

import dev.catena.api.SpanInputException;
import dev.catena.api.spi.SessionOptions;
import dev.catena.ffm.GgufEdits;
import dev.catena.ffm.TestModels;
import dev.catena.api.UnsupportedModelException;
import dev.catena.api.spi.SpanOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Arrays;
import java.util.regex.Pattern;

import static dev.catena.ffm.internal.ggml_h.GGML_TYPE_I32;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Span compute on the TinyStories model against llama.cpp's recorded output and against itself. */
class SpanComputeTest {
    static final int[] PROMPT = {1, 403, 407, 261, 378}; // "<s> Once upon a time"

    static int[] expectedTokens() throws Exception {
        String json = Files.readString(TestModels.dir().resolve("stories260K.expected.json"));
        var m = Pattern.compile("\"generated_token_ids\": \\[([0-9, ]+)]").matcher(json);
        assertTrue(m.find());
        return Arrays.stream(m.group(1).split(",\\s*")).mapToInt(Integer::parseInt).toArray();
    }

    @Test
    void greedyTokensMatchLlamaCppsRecordedOutput() throws Exception {
        int[] expected = expectedTokens();
        try (var chain = new Chain(TestModels.stories260K(), new int[]{0, 5}, SessionOptions.of(512), 1)) {
            var gen = chain.greedy(PROMPT, expected.length);
            assertArrayEquals(expected, gen.tokens());
            float[] first = gen.logits().get(0);
            // models/README.md: the five largest logits after the prompt, from llama.cpp v0.5.0.
            assertEquals(17.797937f, first[432], 1e-3);
            assertEquals(14.282414f, first[383], 1e-3);
            assertEquals(9.710258f, first[322], 1e-3);
            assertEquals(9.586237f, first[353], 1e-3);
            assertEquals(9.138144f, first[323], 1e-3);
        }
    }

    @Test
    void everySplitGivesBitIdenticalHiddenStatesAndLogits() {
        int[][] splits = {{0, 5}, {0, 2, 5}, {0, 1, 3, 5}, {0, 1, 2, 3, 4, 5}, {0, 4, 5}};
        float[][] reference = null;
        float[] referenceHidden = null;
        for (int[] split : splits) {
            try (var chain = new Chain(TestModels.stories260K(), split, SessionOptions.of(128), 1)) {
                var gen = chain.greedy(PROMPT, 24);
                float[][] logits = gen.logits().toArray(float[][]::new);
                float[] hidden = chain.lastHidden.getLast();
                if (reference == null) {
                    reference = logits;
                    referenceHidden = hidden;
                } else {
                    assertArrayEquals(referenceHidden, hidden, "split " + Arrays.toString(split) + ": last hidden state");
                    for (int i = 0; i < logits.length; i++) {
                        assertArrayEquals(reference[i], logits[i], "split " + Arrays.toString(split) + " step " + i);
                    }
                }
            }
        }
    }

    /** A session on part of a span computes exactly what a span of only those blocks does, and reserves KV for them only. */
    @Test
    void aSessionOnPartOfASpanEqualsASpanOfThoseBlocks() {
        var backend = dev.catena.ffm.FfmSpanBackend.instance();
        var blocks = new dev.catena.api.BlockRange(1, 3);
        try (var whole = (FfmSpan) backend.openSpan(TestModels.stories260K(), 0, 5, SpanOptions.cpu(1));
             var exact = backend.openSpan(TestModels.stories260K(), 1, 3, SpanOptions.cpu(1))) {
            var options = SessionOptions.of(64).withBlocks(blocks);
            try (var part = whole.openSession(options); var reference = exact.openSession(SessionOptions.of(64))) {
                assertEquals(reference.kvBytes(), part.kvBytes(), "KV for 2 blocks, not 5");
                assertEquals(part.kvBytes(), whole.kvBytesFor(options));
                var random = new java.util.Random(5);
                for (int position = 0; position < 12; position += 3) {
                    float[] x = new float[3 * whole.model().nEmbd()];
                    for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
                    assertArrayEquals(reference.forward(x, 3, position), part.forward(x, 3, position), "position " + position);
                }
            }
            var outside = assertThrows(SpanInputException.class,
                    () -> exact.openSession(SessionOptions.of(64).withBlocks(new dev.catena.api.BlockRange(0, 2))));
            assertTrue(outside.getMessage().contains("are not within the span [1, 3)"), outside.getMessage());
            assertEquals(0, whole.kvBytesInUse());
        }
    }

    @Test
    void badInputIsRefusedAndTheSessionStaysUsable() {
        try (var chain = new Chain(TestModels.stories260K(), new int[]{0, 5}, SessionOptions.of(16), 1)) {
            var session = chain.sessions.getFirst();
            float[] one = chain.head.embed(new int[]{1});
            var wrongSize = assertThrows(SpanInputException.class, () -> session.forward(new float[63], 1, 0));
            assertTrue(wrongSize.getMessage().contains("n * n_embd = 1 * 64 floats, got 63"), wrongSize.getMessage());
            var gap = assertThrows(SpanInputException.class, () -> session.forward(one, 1, 3));
            assertTrue(gap.getMessage().contains("re-send from 0"), gap.getMessage());
            var past = assertThrows(SpanInputException.class, () -> session.forward(chain.head.embed(new int[17]), 17, 0));
            assertTrue(past.getMessage().contains("exceed the session's max_length 16"), past.getMessage());
            float[] nan = one.clone();
            nan[5] = Float.NaN;
            var nonFinite = assertThrows(SpanInputException.class, () -> session.forward(nan, 1, 0));
            assertTrue(nonFinite.getMessage().contains("non-finite value (NaN) at element 5"), nonFinite.getMessage());
            assertEquals(0, session.length());
            assertEquals(64, session.forward(one, 1, 0).length);
            assertEquals(1, session.length());
        }
    }

    @Test
    void spansOutsideTheModelAreRefused() {
        var backend = dev.catena.ffm.FfmSpanBackend.instance();
        for (int[] r : new int[][]{{3, 9}, {-1, 2}, {2, 2}, {4, 3}}) {
            var e = assertThrows(SpanInputException.class,
                    () -> backend.openSpan(TestModels.stories260K(), r[0], r[1], SpanOptions.cpu(1)));
            assertTrue(e.getMessage().contains("is not a non-empty range of the model's 5 blocks [0, 5)"), e.getMessage());
        }
    }

    @Test
    void unsupportedArchitecturesAndWeightTypesAreNamed(@TempDir Path tmp) {
        var backend = dev.catena.ffm.FfmSpanBackend.instance();
        Path gpt2 = GgufEdits.withMetadata(TestModels.stories260K(), tmp.resolve("gpt2.gguf"), "general.architecture", "gpt2");
        var arch = assertThrows(UnsupportedModelException.class, () -> backend.openSpan(gpt2, 0, 1, SpanOptions.cpu(1)));
        assertTrue(arch.getMessage().contains("architecture 'gpt2' is not supported (supported: llama, qwen2)"), arch.getMessage());
        // I32 has the size of F32, so the file stays consistent; no device multiplies by an integer matrix.
        Path ints = GgufEdits.withTensorType(TestModels.stories260K(), tmp.resolve("i32.gguf"), "blk.1.attn_q.weight",
                GGML_TYPE_I32());
        var type = assertThrows(UnsupportedModelException.class, () -> backend.openSpan(ints, 0, 2, SpanOptions.cpu(1)));
        assertTrue(type.getMessage().contains("multiply by blk.1.attn_q.weight of type i32"), type.getMessage());
        // The first block of that file is fine.
        try (var span = backend.openSpan(ints, 0, 1, SpanOptions.cpu(1))) {
            assertEquals(1, span.end());
        }
    }

    @Test
    void kvMemoryIsReservedExactlyAndFreedOnClose() {
        try (var span = (FfmSpan) dev.catena.ffm.FfmSpanBackend.instance()
                .openSpan(TestModels.stories260K(), 1, 4, SpanOptions.cpu(1))) {
            var f16 = span.openSession(SessionOptions.of(64));
            var f32 = span.openSession(new SessionOptions(64, SessionOptions.KvType.F32));
            // 3 blocks x (K + V) x kv_dim 32 x 64 cells x 2 or 4 bytes
            assertEquals(3L * 2 * 32 * 64 * 2, f16.kvBytes());
            assertEquals(3L * 2 * 32 * 64 * 4, f32.kvBytes());
            assertEquals(f16.kvBytes() + f32.kvBytes(), span.kvBytesInUse());
            assertEquals(f16.kvBytes(), span.kvBytesFor(SessionOptions.of(64)), "predicted before opening");
            f16.close();
            f16.close();
            assertEquals(f32.kvBytes(), span.kvBytesInUse());
            assertThrows(IllegalStateException.class, () -> f16.forward(new float[64], 1, 0));
            f32.close();
            assertEquals(0, span.kvBytesInUse());
            assertEquals(0, span.openSessions());
        }
    }

    /**
     * A session's KV cache is zeroed by the kernel's zero pages: sessions opened and never stepped (an open
     * flood) are not resident. Before, each open cleared its whole cache, and made it resident.
     */
    @Test
    @org.junit.jupiter.api.condition.EnabledOnOs(org.junit.jupiter.api.condition.OS.LINUX)
    void anUnusedSessionsKvIsNotResident() throws Exception {
        try (var span = (FfmSpan) dev.catena.ffm.FfmSpanBackend.instance()
                .openSpan(TestModels.stories260K(), 0, 5, SpanOptions.cpu(1))) {
            var options = new SessionOptions(32768, SessionOptions.KvType.F32); // 5 x 2 x 32 x 4 B x 32768 = 40 MiB
            long before = residentBytes();
            List<dev.catena.api.spi.SpanSession> open = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) open.add(span.openSession(options));
            long grown = residentBytes() - before;
            long kv = 4 * open.getFirst().kvBytes();
            assertTrue(grown < kv / 4, "opening " + kv + " bytes of KV made " + grown + " bytes resident");
            open.forEach(dev.catena.api.spi.SpanSession::close);
            assertEquals(0, span.kvBytesInUse());
        }
    }

    private static long residentBytes() throws java.io.IOException {
        String[] statm = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/statm")).trim().split(" ");
        return Long.parseLong(statm[1]) * 4096;
    }

    @Test
    void closingASessionWhileOtherThreadsStepItIsSafe() throws Exception {
        try (var chain = new Chain(TestModels.stories260K(), new int[]{0, 5}, SessionOptions.of(256), 1)) {
            var session = chain.sessions.getFirst();
            float[] x = chain.head.embed(new int[]{1});
            var started = new java.util.concurrent.CountDownLatch(2);
            var errors = new java.util.concurrent.ConcurrentLinkedQueue<Throwable>();
            List<Thread> threads = new java.util.ArrayList<>();
            for (int t = 0; t < 2; t++) {
                threads.add(Thread.ofPlatform().start(() -> {
                    started.countDown();
                    try {
                        for (int i = 0; i < 10_000; i++) {
                            session.forward(x, 1, 0); // position 0 again and again: a re-send each time
                        }
                    } catch (IllegalStateException closed) {
                        if (!closed.getMessage().contains("session is closed")) errors.add(closed);
                    } catch (Throwable other) {
                        errors.add(other);
                    }
                }));
            }
            started.await();
            Thread.sleep(50);
            session.close();
            for (Thread t : threads) t.join(30_000);
            assertTrue(errors.isEmpty(), errors.toString());
            assertEquals(0, ((FfmSpan) chain.spans.getFirst()).kvBytesInUse());
            // Another session on the same span is unharmed.
            try (var other = chain.spans.getFirst().openSession(SessionOptions.of(8))) {
                assertEquals(64, other.forward(x, 1, 0).length);
            }
        }
    }

    @Test
    void lastOnlyReturnsTheLastRowAndCachesEveryToken() {
        try (var chain = new Chain(TestModels.stories260K(), new int[]{0, 5}, SessionOptions.of(64), 1)) {
            var session = chain.sessions.getFirst();
            float[] prompt = chain.head.embed(PROMPT);
            float[] all = session.forward(prompt, PROMPT.length, 0);
            float[] last = session.forward(prompt, PROMPT.length, 0, true); // a re-send of the same tokens
            assertEquals(64, last.length);
            float[] lastOfAll = Arrays.copyOfRange(all, (PROMPT.length - 1) * 64, PROMPT.length * 64);
            for (int i = 0; i < 64; i++) {
                assertEquals(lastOfAll[i], last[i], 1e-5, "element " + i);
            }
            assertEquals(PROMPT.length, session.length());
            // The next step attends to every cached token either way.
            float[] next = chain.head.embed(new int[]{432});
            float[] afterAll = session.forward(next, 1, PROMPT.length);
            session.forward(prompt, PROMPT.length, 0, false);
            assertArrayEquals(afterAll, session.forward(next, 1, PROMPT.length));
        }
    }

    @Test
    void decodeStepsReuseOneGraphAndInterleavedSessionsStayExact() {
        try (var chain = new Chain(TestModels.stories260K(), new int[]{0, 5}, SessionOptions.of(300), 1)) {
            var span = (FfmSpan) chain.spans.getFirst();
            int[] next = {432, 261, 378, 403, 407, 300};
            // Alone: every decode step after the first runs the graph kept from the step before.
            var alone = chain.sessions.getFirst();
            alone.forward(chain.head.embed(PROMPT), PROMPT.length, 0, true);
            float[][] expected = new float[next.length][];
            long builds = 0;
            for (int i = 0; i < next.length; i++) {
                expected[i] = alone.forward(chain.head.embed(new int[]{next[i]}), 1, PROMPT.length + i, true);
                if (i == 0) {
                    builds = span.compute().builds();
                }
            }
            assertEquals(builds, span.compute().builds(), "decode steps of one shape build no new graph");
            // Two sessions stepped in turn (each step drops the other's graph), and one crossing a 256-cell
            // boundary of the attended cells, give the same hidden states bit for bit.
            try (var a = span.openSession(SessionOptions.of(300)); var b = span.openSession(SessionOptions.of(300))) {
                a.forward(chain.head.embed(PROMPT), PROMPT.length, 0, true);
                b.forward(chain.head.embed(PROMPT), PROMPT.length, 0, true);
                for (int i = 0; i < next.length; i++) {
                    float[] x = chain.head.embed(new int[]{next[i]});
                    assertArrayEquals(expected[i], a.forward(x, 1, PROMPT.length + i, true), "session a, step " + i);
                    assertArrayEquals(expected[i], b.forward(x, 1, PROMPT.length + i, true), "session b, step " + i);
                }
                int[] long255 = new int[255];
                Arrays.setAll(long255, i -> 3 + i % 500);
                a.forward(chain.head.embed(long255), 255, 0, true);
                float[] x = chain.head.embed(new int[]{next[0]});
                float[] at255 = a.forward(x, 1, 255, false); // the last of 256 cells
                assertArrayEquals(at255, a.forward(x, 1, 255, false), "the same step again, graph kept");
                a.forward(x, 1, 256, false); // 512 cells attended: a new graph
                assertEquals(257, a.length());
                assertArrayEquals(at255, a.forward(x, 1, 255, false), "back to 256 cells");
            }
        }
    }
}

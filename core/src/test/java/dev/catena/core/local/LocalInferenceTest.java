package dev.catena.core.local;

import dev.catena.testing.CountingBackend;
import dev.catena.api.BlockRange;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SpanOptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalInferenceTest {
    static final Path MODEL = Path.of("counting.gguf");

    @Test
    void chainsTheSpansAndStreamsEveryToken() {
        var backend = new CountingBackend(5);
        try (var inference = LocalInference.open(backend, MODEL, BlockRange.parseList("0:2,2:3,3:5"), SpanOptions.cpu(1))) {
            List<Integer> streamed = new ArrayList<>();
            // Prompt "3" is token 3; five blocks add 5 per step: 8, 13, 18, 23.
            var g = inference.generate("3", 4, SamplingParams.greedyDecoding(), SessionOptions.of(64), true, true,
                    streamed::add);
            assertArrayEquals(new int[]{8, 13, 18, 23}, g.tokens());
            assertEquals(List.of(8, 13, 18, 23), streamed);
            assertEquals("3 8 13 18 23", g.text());
            assertEquals(4, g.logits().size());
            assertEquals(List.of("0:2", "2:3", "3:5"), backend.opened);
        }
    }

    @Test
    void stopsAtEndOfTextUnlessToldNotTo() {
        var backend = new CountingBackend(4);
        try (var inference = LocalInference.open(backend, MODEL, List.of(), SpanOptions.cpu(1))) {
            // 7 + 4k reaches 99 (EOS) after 23 steps.
            var stopped = inference.generate("7", 40, SamplingParams.greedyDecoding(), SessionOptions.of(64), true, false, t -> { });
            assertEquals(22, stopped.tokens().length);
            assertEquals(95, stopped.tokens()[21]);
            var all = inference.generate("7", 40, SamplingParams.greedyDecoding(), SessionOptions.of(64), false, false, t -> { });
            assertEquals(40, all.tokens().length);
            assertEquals(99, all.tokens()[22]);
        }
    }

    @Test
    void refusesSplitsThatDoNotCoverTheModelAndRequestsThatDoNotFit() {
        var backend = new CountingBackend(5);
        var e = assertThrows(IllegalArgumentException.class,
                () -> LocalInference.open(backend, MODEL, BlockRange.parseList("0:2,3:5"), SpanOptions.cpu(1)));
        assertEquals("blocks [2, 3) are not covered", e.getMessage());
        assertTrue(backend.opened.isEmpty(), "nothing opened for a bad split");
        try (var inference = LocalInference.open(backend, MODEL, List.of(), SpanOptions.cpu(1))) {
            var tooLong = assertThrows(IllegalArgumentException.class,
                    () -> inference.generate("12345", 60, SamplingParams.greedyDecoding(), SessionOptions.of(64), true, false, t -> { }));
            assertTrue(tooLong.getMessage().contains("exceed max length 64"), tooLong.getMessage());
        }
    }
}

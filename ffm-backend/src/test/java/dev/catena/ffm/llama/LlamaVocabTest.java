package dev.catena.ffm.llama;

import dev.catena.ffm.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** llama.cpp's tokenizer on stories260K (512-token SentencePiece, byte fallback) against llama-tokenize's ids. */
class LlamaVocabTest {
    static LlamaModel model;
    static LlamaVocab vocab;

    @BeforeAll
    static void load() {
        model = LlamaModel.vocabOnly(TestModels.stories260K());
        vocab = model.vocab();
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    @Test
    void specialTokensAndSize() {
        assertTrue(model.isVocabOnly());
        assertEquals(512, vocab.nVocab());
        assertEquals(1, vocab.bos());
        assertEquals(2, vocab.eos());
        assertTrue(vocab.addsBos(), "SentencePiece vocabularies add BOS by llama.cpp's defaults");
        assertTrue(vocab.isEndOfGeneration(vocab.eos()), "EOS ends a generation");
        assertFalse(vocab.isEndOfGeneration(vocab.bos()), "BOS does not");
        assertFalse(vocab.isEndOfGeneration(432), "',' does not");
    }

    @Test
    void tokenizesLikeLlamaTokenize() {
        for (var c : ExpectedOutputs.tokenizations()) {
            assertArrayEquals(c.idsWithBos(), vocab.tokenize(c.text(), true), () -> "ids of \"" + c.text() + "\" with BOS");
            int[] withoutBos = Arrays.copyOfRange(c.idsWithBos(), 1, c.idsWithBos().length);
            assertArrayEquals(withoutBos, vocab.tokenize(c.text(), false), () -> "ids of \"" + c.text() + "\" without BOS");
        }
    }

    @Test
    void byteFallbackNeedsTheResizeProtocol() {
        // 10 bytes, 10 tokens (BOS, c, af, é as two merges, space, four byte tokens): more than the first guess of 9.
        String text = "café 😀";
        assertEquals(10, text.getBytes(StandardCharsets.UTF_8).length);
        int[] ids = vocab.tokenize(text, true);
        assertArrayEquals(new int[]{0xF0 + 3, 0x9F + 3, 0x98 + 3, 0x80 + 3}, Arrays.copyOfRange(ids, 6, 10), "the emoji as byte tokens");
        String many = "😀".repeat(500);
        assertEquals(1 + 1 + 2000, vocab.tokenize(many, true).length, "BOS, the prepended '▁', then a token per byte");
        assertEquals(many, vocab.detokenize(vocab.tokenize(many, true)));
        assertArrayEquals(new int[]{1}, vocab.tokenize("", true), "empty text: BOS only");
        assertArrayEquals(new int[0], vocab.tokenize("", false));
    }

    @Test
    void detokenizeRoundTrips() {
        for (var c : ExpectedOutputs.tokenizations()) {
            assertEquals(c.text(), vocab.detokenize(c.idsWithBos()), "detokenize(ids with BOS) of \"" + c.text() + "\"");
            int[] withoutBos = Arrays.copyOfRange(c.idsWithBos(), 1, c.idsWithBos().length);
            assertEquals(c.text(), vocab.detokenize(withoutBos), "detokenize(ids without BOS) of \"" + c.text() + "\"");
        }
        assertEquals("", vocab.detokenize(new int[0]));
        assertEquals("", vocab.detokenize(new int[]{1}), "BOS alone renders as nothing");
    }

    @Test
    void continuationKeepsTheLeadingSpace() {
        int[] ids = {1, 317, 269, 274, 287, 263, 377, 267, 265, 410, 451, 347, 426}; // "Lily and Tom went to the zoo."
        for (int split = 2; split < ids.length; split++) { // head holds BOS and at least one word
            int[] head = Arrays.copyOf(ids, split);
            int[] tail = Arrays.copyOfRange(ids, split, ids.length);
            assertEquals("Lily and Tom went to the zoo.", vocab.detokenize(head) + vocab.continuation(tail), "split at " + split);
        }
        assertEquals(" Once", vocab.continuation(new int[]{403}), "continuation keeps the space even after nothing");
        assertEquals("Once", vocab.detokenize(new int[]{403}));
    }

    @Test
    void piecesOfByteNormalAndControlTokens() {
        assertEquals("\n", vocab.piece(13), "byte token <0x0A> is id 13");
        assertArrayEquals(new byte[]{'\n'}, vocab.pieceBytes(13));
        assertEquals("A", vocab.piece('A' + 3));
        assertArrayEquals(new byte[]{(byte) 0xF0}, vocab.pieceBytes(0xF0 + 3), "a lone UTF-8 lead byte, raw");
        assertEquals("\uFFFD", vocab.piece(0xF0 + 3), "as a String, a lone lead byte is malformed");
        assertEquals(" Once", vocab.piece(403), "SentencePiece's ▁ is a space");
        assertEquals(",", vocab.piece(432));
        assertEquals("", vocab.piece(vocab.bos()), "control tokens render as nothing (special=false)");
        assertEquals("", vocab.piece(vocab.eos()));
    }

    @Test
    void rejectsTokensOutsideTheVocabulary() {
        assertThrows(IllegalArgumentException.class, () -> vocab.piece(512));
        assertThrows(IllegalArgumentException.class, () -> vocab.piece(-1));
        assertThrows(IllegalArgumentException.class, () -> vocab.detokenize(new int[]{1, 600}));
    }

    @Test
    void useAfterCloseIsAnIllegalStateException() {
        LlamaModel m = LlamaModel.vocabOnly(TestModels.stories260K());
        LlamaVocab v = m.vocab();
        m.close();
        m.close();
        var e = assertThrows(IllegalStateException.class, () -> v.tokenize("Hello", true));
        assertTrue(e.getMessage().contains("already closed"), e.getMessage());
        assertThrows(IllegalStateException.class, m::vocab);
    }
}

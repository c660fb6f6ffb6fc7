package dev.catena.ffm.llama;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import static dev.catena.ffm.internal.llama_h.*;

/**
 * llama.cpp's tokenizer for one model ({@code llama_vocab}), valid while its {@link LlamaModel} is
 * open. Thread-safe: llama.cpp's tokenizer is read-only after loading.
 * <p>
 * Text: {@link #detokenize} renders a sequence as the start of a text, the way llama.cpp's reference
 * outputs in {@code models/} are written. SentencePiece vocabularies encode a word's leading
 * space in the token ({@code ▁Once}) and the tokenizer prepends one to the text, so the first token's
 * space is dropped; {@code llama_detokenize} drops it only when no BOS precedes (a BOS, rendered as
 * nothing, still counts as the first token), hence a leading BOS is removed first. {@link #continuation}
 * renders tokens that follow other text and keeps that space.
 */
public final class LlamaVocab {
    private final LlamaModel model;
    private final MemorySegment vocab;

    LlamaVocab(LlamaModel model, MemorySegment vocab) {
        this.model = model;
        this.vocab = vocab;
    }

    private MemorySegment vocab() {
        model.handle(); // throws once the model is closed
        return vocab;
    }

    public int nVocab() {
        return llama_vocab_n_tokens(vocab());
    }

    /** The BOS id, or -1 when the vocabulary has none. */
    public int bos() {
        return llama_vocab_bos(vocab());
    }

    /** The EOS id, or -1 when the vocabulary has none. */
    public int eos() {
        return llama_vocab_eos(vocab());
    }

    /** Whether tokenizing with {@code addSpecial} adds BOS (SentencePiece and Llama 3 do, qwen2 does not). */
    public boolean addsBos() {
        return llama_vocab_get_add_bos(vocab());
    }

    /** Whether {@code token} ends a generation (EOS, EOT, EOM, ...). */
    public boolean isEndOfGeneration(int token) {
        return llama_vocab_is_eog(vocab(), token);
    }

    /**
     * Token ids for {@code text}. Special-token text in {@code text} (e.g. {@code "<s>"}) is tokenized
     * as plain text (parse_special=false), so user text cannot inject control tokens.
     *
     * @param addSpecial add BOS/EOS as llama.cpp's defaults for this vocabulary do
     */
    public int[] tokenize(String text, boolean addSpecial) {
        return tokenize(text, addSpecial, false);
    }

    /**
     * Token ids for {@code text}; with {@code parseSpecial}, text that spells a special token (e.g.
     * {@code <|im_start|>} in a rendered chat template) becomes that token, as llama.cpp's server tokenizes prompts.
     *
     * @param addSpecial add BOS/EOS as llama.cpp's defaults for this vocabulary do
     */
    public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bytes = arena.allocate(Math.max(1, utf8.length));
            MemorySegment.copy(utf8, 0, bytes, ValueLayout.JAVA_BYTE, 0, utf8.length);
            // Words make several bytes per token; byte fallback (emoji, rare scripts) one token per byte,
            // and then llama.cpp answers with minus the count it needs.
            int capacity = utf8.length / 2 + 4;
            for (int attempt = 0; attempt < 2; attempt++) {
                MemorySegment out = arena.allocate(ValueLayout.JAVA_INT, capacity);
                int n = llama_tokenize(vocab(), bytes, utf8.length, out, capacity, addSpecial, parseSpecial);
                if (n == Integer.MIN_VALUE) {
                    throw new IllegalArgumentException("text too long to tokenize: " + utf8.length + " bytes");
                }
                if (n >= 0) {
                    return out.asSlice(0, (long) n * Integer.BYTES).toArray(ValueLayout.JAVA_INT);
                }
                capacity = -n; // llama.cpp says how many it needs
            }
            throw new IllegalStateException("llama_tokenize asked for more room twice");
        }
    }

    /** The bytes of one token's text; byte tokens ({@code <0xF0>}) give their single raw byte, control tokens nothing. */
    public byte[] pieceBytes(int token) {
        checkToken(token);
        try (Arena arena = Arena.ofConfined()) {
            int capacity = 64;
            for (int attempt = 0; attempt < 2; attempt++) {
                MemorySegment buf = arena.allocate(capacity);
                int n = llama_token_to_piece(vocab(), token, buf, capacity, 0, false);
                if (n >= 0) {
                    return buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
                }
                capacity = -n;
            }
            throw new IllegalStateException("llama_token_to_piece asked for more room twice");
        }
    }

    /**
     * One token's text ({@code llama_token_to_piece}, special=false: control tokens give ""), its
     * leading space kept. A byte token that is only part of a UTF-8 character decodes to U+FFFD; use
     * {@link #pieceBytes} or {@link #continuation} for those.
     */
    public String piece(int token) {
        return new String(pieceBytes(token), StandardCharsets.UTF_8);
    }

    /**
     * The text of {@code tokens} as the start of a text: a leading BOS is dropped, control tokens are
     * not rendered, and the space SentencePiece put before the first word is removed.
     * {@code detokenize(tokenize(s, true))} is {@code s} for the texts llama.cpp round-trips.
     */
    public String detokenize(int[] tokens) {
        int bos = bos();
        int from = tokens.length > 0 && bos >= 0 && tokens[0] == bos ? 1 : 0;
        int[] rest = from == 0 ? tokens : Arrays.copyOfRange(tokens, 1, tokens.length);
        return detokenizeRaw(rest);
    }

    /**
     * The text of {@code tokens} that continue an existing text: like {@link #detokenize} but the first
     * token's leading space is kept, so {@code detokenize(a) + continuation(b)} equals
     * {@code detokenize(a ++ b)} (for SentencePiece vocabularies; cleanup passes of some BPE
     * vocabularies may join across the boundary).
     */
    public String continuation(int[] tokens) {
        int bos = bos();
        if (bos < 0) {
            return detokenizeRaw(tokens); // no BOS: such vocabularies add no space prefix either
        }
        // A leading control token renders as nothing but ends llama.cpp's first-token space removal.
        int[] withBos = new int[tokens.length + 1];
        withBos[0] = bos;
        System.arraycopy(tokens, 0, withBos, 1, tokens.length);
        return detokenizeRaw(withBos);
    }

    private String detokenizeRaw(int[] tokens) {
        for (int t : tokens) {
            checkToken(t);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ids = arena.allocateFrom(ValueLayout.JAVA_INT, tokens);
            int capacity = Math.max(16, tokens.length * 8);
            for (int attempt = 0; attempt < 2; attempt++) {
                MemorySegment buf = arena.allocate(capacity);
                // remove_special=false: a trailing EOS renders as nothing anyway; unparse_special=false: no "<s>"
                int n = llama_detokenize(vocab(), ids, tokens.length, buf, capacity, false, false);
                if (n >= 0) {
                    return new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
                }
                capacity = -n;
            }
            throw new IllegalStateException("llama_detokenize asked for more room twice");
        }
    }

    private void checkToken(int token) {
        int n = nVocab();
        if (token < 0 || token >= n) {
            throw new IllegalArgumentException("token " + token + " is outside the vocabulary [0, " + n + ")");
        }
    }
}

package dev.catena.api.spi;

import java.util.List;
import java.util.Optional;

/**
 * What the client holds of a model: token embeddings, final norm, LM head and the tokenizer.
 * Thread-safe.
 */
public interface ModelHead extends AutoCloseable {

    int nEmbd();

    int nVocab();

    /** Token ids for {@code text}; {@code addSpecial} adds BOS (or whatever the vocabulary's defaults add). */
    int[] tokenize(String text, boolean addSpecial);

    /**
     * Token ids for {@code text}; with {@code parseSpecial}, text that spells a special token of the vocabulary
     * (e.g. {@code <|im_start|>}) becomes that token, as a rendered chat template needs. The default handles only
     * {@code parseSpecial == false}.
     *
     * @throws UnsupportedOperationException for {@code parseSpecial} when the backend cannot parse special tokens
     */
    default int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
        if (parseSpecial) throw new UnsupportedOperationException("this model head cannot parse special tokens");
        return tokenize(text, addSpecial);
    }

    /** The model's chat template (GGUF {@code tokenizer.chat_template}), or empty when it has none. */
    default Optional<String> chatTemplate() {
        return Optional.empty();
    }

    /**
     * {@code messages} rendered with {@code template} by the engine (for the ffm backend: llama.cpp's
     * {@code llama_chat_apply_template}, which recognises a fixed list of templates, by name such as {@code chatml} or
     * by their Jinja text), ending with the start of an assistant message when {@code addAssistant}. Empty when the
     * engine does not know the template; the caller then chooses a fallback.
     */
    default Optional<String> applyChatTemplate(String template, List<TemplateMessage> messages, boolean addAssistant) {
        return Optional.empty();
    }

    /** The text of {@code tokens}, special tokens left out. */
    String detokenize(int[] tokens);

    /** Whether {@code token} ends a generation (EOS, EOT, ...). */
    boolean isEndOfGeneration(int token);

    /** Hidden states {@code [n, nEmbd]} for tokens. */
    float[] embed(int[] tokens);

    /** Logits {@code [rows.size(), nVocab]}: final norm and LM head applied to the given rows of {@code hidden [n, nEmbd]}. */
    float[] logits(float[] hidden, int n, List<Integer> rows);

    /** A sampler chain with its own state (penalties, RNG); close it when done. */
    Sampler sampler(SamplingParams params);

    @Override
    void close();
}

package dev.catena.core;

import java.nio.file.Path;

/** What builders of a {@link Generator} take besides the model's compute: each generation's context. */
public abstract sealed class GeneratorBuilder<B extends GeneratorBuilder<B>> extends ModelBuilder<B>
        permits CatenaClient.Builder, LocalGenerator.Builder {
    /** Tokens of each generation's KV cache, or {@link Engine#AUTO}. */
    int context = 512;
    /** A chat template in place of the model's, or null. */
    String chatTemplate;

    GeneratorBuilder(Path model) {
        super(model);
    }

    /** Tokens one generation may hold, prompt included: the KV cache each span reserves for it (default 512). */
    public B context(int tokens) {
        if (tokens < 1) throw new IllegalArgumentException("context must be >= 1, got " + tokens);
        this.context = tokens;
        return self();
    }

    /**
     * Renders chat prompts ({@link Generator#chatPrompt}) with {@code template} in place of the model's
     * {@code tokenizer.chat_template}, for a model whose GGUF has none or a wrong one: a template name the backend knows
     * (llama.cpp's {@code llama_chat_builtin_templates}: {@code chatml}, {@code llama3}, {@code mistral-v7}, ...) or a
     * template's text (llama.cpp recognises it by its markers; it runs no Jinja). {@code build()} fails with
     * {@link IllegalArgumentException} when the backend does not recognise it. Null: the model's own (the default).
     */
    public B chatTemplate(String template) {
        this.chatTemplate = template;
        return self();
    }

    /**
     * Each generation's KV cache holds exactly its prompt plus {@code maxTokens}, up to the model's
     * trained context ({@code n_ctx_train}): no memory reserved that the generation cannot use.
     */
    public B autoContext() {
        this.context = Engine.AUTO;
        return self();
    }
}

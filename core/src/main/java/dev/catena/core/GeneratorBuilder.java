package dev.catena.core;

import java.nio.file.Path;

/** What builders of a {@link Generator} take besides the model's compute: each generation's context. */
public abstract sealed class GeneratorBuilder<B extends GeneratorBuilder<B>> extends ModelBuilder<B>
        permits CatenaClient.Builder, LocalGenerator.Builder {
    /** Tokens of each generation's KV cache, or {@link Engine#AUTO}. */
    int context = 512;

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
     * Each generation's KV cache holds exactly its prompt plus {@code maxTokens}, up to the model's
     * trained context ({@code n_ctx_train}): no memory reserved that the generation cannot use.
     */
    public B autoContext() {
        this.context = Engine.AUTO;
        return self();
    }
}

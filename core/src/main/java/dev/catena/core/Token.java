package dev.catena.core;

/**
 * One generated token.
 *
 * @param id   the token id in the model's vocabulary
 * @param text the text this token makes final: text that may still be an incomplete character or
 *             the start of a stop sequence waits for the tokens after it, and a stop sequence is never
 *             included; so the tokens' texts add up to {@link Generation#text()}, except for text
 *             still waiting when an end-of-text token ends the generation (it is in the result only)
 */
public record Token(int id, String text) {
    /** @throws NullPointerException when {@code text} is null */
    public Token {
        java.util.Objects.requireNonNull(text, "text");
    }
}

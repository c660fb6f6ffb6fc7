package dev.catena.core;

/**
 * One generated token.
 *
 * @param id   the token id in the model's vocabulary
 * @param text the text this token adds to the continuation: empty while it ends in an incomplete
 *             character, and cut before a stop sequence it completes
 */
public record Token(int id, String text) {
    public Token {
        java.util.Objects.requireNonNull(text, "text");
    }
}

package dev.catena.api.spi;

import java.util.Objects;

/**
 * One message of a conversation, as a chat template reads it.
 *
 * @param role    {@code system}, {@code user} or {@code assistant} (templates may know others)
 * @param content the message's text
 */
public record TemplateMessage(String role, String content) {
    public TemplateMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }
}

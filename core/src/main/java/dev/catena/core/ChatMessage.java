package dev.catena.core;

import java.util.Locale;
import java.util.Objects;

/**
 * One message of a conversation, for {@link Generator#chatPrompt}.
 *
 * @param role    who wrote it
 * @param content its text
 */
public record ChatMessage(Role role, String content) {
    /** Who wrote a message. */
    public enum Role {
        SYSTEM, USER, ASSISTANT;

        /** The name chat templates use: {@code system}, {@code user} or {@code assistant}. */
        public String templateName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }

    public static ChatMessage system(String content) {
        return new ChatMessage(Role.SYSTEM, content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage(Role.USER, content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage(Role.ASSISTANT, content);
    }
}

package dev.catena.core;

import java.util.List;

/**
 * A conversation rendered as the prompt for the assistant's next message ({@link Generator#chatPrompt}).
 *
 * @param text      the rendered text
 * @param tokens    its token ids, as the generation will see them (BOS included when the vocabulary adds one)
 * @param templated true when the model's own chat template rendered it; false for {@link #fallbackText}
 */
public record ChatPrompt(String text, List<Integer> tokens, boolean templated) {
    public ChatPrompt {
        tokens = List.copyOf(tokens);
    }

    /** A request builder for this prompt's tokens: {@code chatPrompt(messages).request().maxTokens(64).build()}. */
    public GenerationRequest.Builder request() {
        return GenerationRequest.builder(tokens);
    }

    /**
     * The fallback rendering for models without a chat template (or with one the backend does not recognise): one
     * {@code "Role: content"} line per message ({@code System}, {@code User}, {@code Assistant}), then
     * {@code "Assistant:"} for the reply, e.g. {@code "System: Be brief.\nUser: Hi\nAssistant:"}.
     */
    public static String fallbackText(List<ChatMessage> messages) {
        var sb = new StringBuilder();
        for (ChatMessage m : messages) {
            String role = switch (m.role()) {
                case SYSTEM -> "System";
                case USER -> "User";
                case ASSISTANT -> "Assistant";
            };
            sb.append(role).append(": ").append(m.content()).append('\n');
        }
        return sb.append("Assistant:").toString();
    }
}

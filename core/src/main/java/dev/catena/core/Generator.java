package dev.catena.core;

/**
 * Generates text with a model, wherever its blocks run: in this process ({@link Catena#local}) or on
 * a swarm of servers ({@link Catena#client}, {@link LocalSwarm#client()}). Thread-safe: generations
 * may run concurrently, each in sessions of its own. Close it after the streams and chat sessions
 * it opened (closing it closes any still open).
 */
public interface Generator extends AutoCloseable {

    /**
     * Runs one generation to its end and returns it.
     *
     * @throws IllegalArgumentException when the prompt and {@code maxTokens} do not fit the context,
     *                                  or a prompt token id is not in the vocabulary
     */
    Generation generate(GenerationRequest request);

    /**
     * Starts one generation whose tokens the caller pulls one at a time, as they are computed.
     * Closing the stream before its end cancels the generation and frees its sessions.
     *
     * @throws IllegalArgumentException as {@link #generate}
     */
    TokenStream stream(GenerationRequest request);

    /**
     * Opens a conversation whose sessions (and their KV caches) stay open between turns, so each turn
     * sends only its own new tokens.
     *
     * @param maxLength the tokens the whole conversation may hold (prompts and outputs of every turn)
     */
    ChatSession openSession(int maxLength);

    /**
     * The model's token ids for {@code text}, as prompts are tokenized.
     *
     * @param bos whether to add BOS (or whatever the vocabulary adds at the start of a text)
     */
    java.util.List<Integer> tokenize(String text, boolean bos);

    /**
     * The prompt for the assistant's reply to a conversation. {@code messages} are rendered with the model's chat
     * template (the GGUF's {@code tokenizer.chat_template}, or the one given to the builder's
     * {@link GeneratorBuilder#chatTemplate}) through the backend (llama.cpp's
     * {@code llama_chat_apply_template}, which recognises a fixed list of templates such as ChatML, Llama 2 and 3,
     * Mistral, Gemma, Phi, by their markers; it runs no Jinja), and the text is tokenized with the template's markers
     * ({@code <|im_start|>}, ...) as special tokens. A model with no template, or one the backend does not recognise
     * (a warning is logged once), gets {@link ChatPrompt#fallbackText}: {@code "Role: content"} lines, then
     * {@code "Assistant:"}, tokenized as plain text with BOS. (The default, for generators that do not know their
     * model's template, is that fallback.)
     *
     * @throws IllegalArgumentException when {@code messages} is empty, or a message holds a NUL character
     */
    default ChatPrompt chatPrompt(java.util.List<ChatMessage> messages) {
        if (messages.isEmpty()) throw new IllegalArgumentException("a chat prompt needs at least one message");
        String text = ChatPrompt.fallbackText(messages);
        return new ChatPrompt(text, tokenize(text, true), false);
    }

    /** The text of {@code tokens}, special tokens (BOS, end of text) left out. */
    String detokenize(java.util.List<Integer> tokens);

    /**
     * Where the model runs now: servers, block coverage, this generator's live sessions and recent failovers.
     * Never waits for a server: a swarm generator's first call starts a background probe that asks every
     * server for its {@code ServerInfo} (each second while the status is asked for, with a short timeout) and
     * returns what the latest probe saw. This default, for generators outside Catena, knows nothing (0 blocks).
     */
    default SwarmStatus status() {
        return new SwarmStatus("", 0, java.time.Instant.now(), java.util.List.of(), java.util.List.of(), java.util.List.of(),
                java.util.List.of(), java.util.List.of(), new SwarmStatus.Counters(0, 0, 0, 0, 0));
    }

    /** Closes the streams and chat sessions still open, then frees the model and connections. */
    @Override
    void close();
}

package dev.catena.core;

import dev.catena.core.generation.GenerationLoop;

import java.util.Arrays;

/**
 * A conversation whose sessions, and their KV caches, stay open between turns (as Petals'
 * {@code inference_session}): each turn sends only its own new tokens, at the positions after the
 * previous turn. The first turn's text is tokenized with BOS, later turns' without. A turn's output
 * equals one generation over the whole conversation so far. One turn at a time; close it to free
 * the sessions. Not thread-safe.
 */
public final class ChatSession implements AutoCloseable {
    private final Engine engine;
    private final Engine.Opened chain;
    private final int maxLength;
    /** Every token of the conversation: fed to the chain, or {@link #pending}. */
    private int[] history = new int[0];
    /** Tokens chosen but not yet fed (the last token of the previous turn). */
    private int[] pending = new int[0];
    private int position;
    private TokenStream active;
    private boolean broken;
    private boolean closed;

    ChatSession(Engine engine, Engine.Opened chain, int maxLength) {
        this.engine = engine;
        this.chain = chain;
        this.maxLength = maxLength;
    }

    /**
     * Runs one turn to its end.
     *
     * @throws IllegalArgumentException when the turn could overflow {@link #maxLength()} (the session stays usable)
     * @throws IllegalStateException    when another turn is streaming, the session is closed, or a turn failed
     */
    public Generation generate(GenerationRequest request) {
        try (TokenStream s = stream(request)) {
            return s.drain();
        }
    }

    /**
     * Starts one turn whose tokens the caller pulls; closing the stream early ends the turn there and
     * keeps the conversation (the tokens generated so far included).
     *
     * @throws IllegalArgumentException when the turn could overflow {@link #maxLength()} (the session stays usable)
     * @throws IllegalStateException    when another turn is streaming, the session is closed, or a turn failed
     */
    public TokenStream stream(GenerationRequest request) {
        if (closed) throw new IllegalStateException("the chat session is closed");
        if (broken) throw new IllegalStateException("a turn of this chat session failed; open a new one");
        if (active != null) throw new IllegalStateException("a turn is still streaming: close its stream first");
        int[] turn = engine.prompt(request, history.length == 0);
        int[] feed = concat(pending, turn);
        Engine.requireFits(length(), turn.length, request.maxTokens(), maxLength, "the chat session's");
        int[] context = concat(history, turn);
        var loop = new GenerationLoop(engine.head, chain, context, feed, position, request.maxTokens(), request.sampling(),
                request.stopAtEndOfText(), request.keepLogits());
        active = new TokenStream(engine.head, loop, context, turn, request, chain, s -> {
            if (s.failed()) {
                broken = true;
            } else {
                position = s.loop().position();
                pending = s.loop().pending();
                history = concat(context, s.loop().tokens());
            }
            active = null;
        });
        return active;
    }

    /** Tokens in the conversation so far: every turn's prompt and output. */
    public int length() {
        return history.length;
    }

    /** The tokens the conversation may hold. */
    public int maxLength() {
        return maxLength;
    }

    /** Every token of the conversation so far (BOS, prompts and outputs). */
    public java.util.List<Integer> tokens() {
        return Arrays.stream(history).boxed().toList();
    }

    /** Closes a turn still streaming and frees the sessions on every server. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            if (active != null) active.close();
        } finally {
            engine.forget(this);
            chain.close();
        }
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}

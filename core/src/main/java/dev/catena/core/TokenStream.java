package dev.catena.core;

import dev.catena.api.spi.ModelHead;
import dev.catena.core.generation.GenerationLoop;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Consumer;

/**
 * A generation in progress, pulled one token at a time: each step of the iteration runs one forward
 * pass on the caller's thread (no background thread), so a slow reader slows the generation and
 * nothing is computed ahead. Iterate it once, and close it (try-with-resources): closing before the
 * end cancels the generation and frees its sessions on every server. Not thread-safe.
 * <pre>{@code
 * try (TokenStream s = generator.stream(request)) {
 *     for (Token t : s) System.out.print(t.text());
 *     Generation g = s.result(); // finish reason, stats, the final text
 * }
 * }</pre>
 */
public final class TokenStream implements Iterable<Token>, AutoCloseable {
    private final ModelHead head;
    private final GenerationLoop loop;
    private final int[] before;
    private final String beforeText;
    private final int[] promptTokens;
    private final GenerationRequest request;
    private final Engine.Opened chain;
    private final Consumer<TokenStream> onClose;
    private final int failoversBefore;
    private final List<Integer> tokens = new ArrayList<>();
    private String emitted = "";
    private Token next;
    private boolean iterated;
    private boolean finished;
    private boolean failed;
    private boolean closed;
    private Generation result;

    /**
     * @param before       the tokens before the output (the prompt, or the whole conversation), to detokenize with it
     * @param promptTokens the tokens this generation's request added
     * @param onClose      called once, at close
     */
    TokenStream(ModelHead head, GenerationLoop loop, int[] before, int[] promptTokens, GenerationRequest request,
                Engine.Opened chain, Consumer<TokenStream> onClose) {
        this.head = head;
        this.loop = loop;
        this.before = before;
        this.beforeText = head.detokenize(before);
        this.promptTokens = promptTokens;
        this.request = request;
        this.chain = chain;
        this.onClose = onClose;
        this.failoversBefore = chain.failovers().size();
    }

    /**
     * The tokens, each as soon as it is computed; the iteration ends at the generation's end.
     *
     * @throws IllegalStateException when called a second time
     */
    @Override
    public Iterator<Token> iterator() {
        if (iterated) throw new IllegalStateException("a token stream can be iterated once");
        iterated = true;
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return advance();
            }

            @Override
            public Token next() {
                if (!advance()) throw new NoSuchElementException();
                Token t = TokenStream.this.next;
                TokenStream.this.next = null;
                return t;
            }
        };
    }

    /**
     * The whole generation, once the stream reached its end.
     *
     * @throws IllegalStateException before the end, or when the stream was closed before it
     */
    public Generation result() {
        if (result == null) {
            throw new IllegalStateException(closed ? "the stream was closed before its end" : "the stream has not reached its end");
        }
        return result;
    }

    /** The servers (and their blocks) the generation runs on now; empty in process or before the first token. */
    public List<RouteHop> route() {
        return chain.route();
    }

    /** Whether the generation has ended (its last token may still be unread). */
    public boolean isFinished() {
        return finished;
    }

    /** Reads the rest of the stream; returns the result. */
    Generation drain() {
        while (advance()) next = null;
        return result();
    }

    /** Whether a token is ready, computing it when none is. */
    private boolean advance() {
        if (next != null) return true;
        if (finished || closed) return false;
        int id;
        try {
            id = loop.next();
        } catch (RuntimeException e) {
            failed = true;
            close();
            throw e;
        }
        if (id < 0) {
            finish(loop.endOfText() ? FinishReason.STOP : FinishReason.LENGTH, continuation());
            return false;
        }
        tokens.add(id);
        String full = continuation();
        int cut = stopIndex(full);
        if (cut >= 0) {
            next = new Token(id, cut > emitted.length() ? full.substring(emitted.length(), cut) : "");
            finish(FinishReason.STOP, full.substring(0, cut));
        } else if (tokens.size() >= request.maxTokens()) {
            next = new Token(id, full.startsWith(emitted) ? full.substring(emitted.length()) : "");
            finish(FinishReason.LENGTH, full);
        } else {
            // Text that may still turn out to be an incomplete character or the start of a stop sequence waits for the next token.
            int safe = full.endsWith("\uFFFD") ? emitted.length() : full.length() - stopPrefixAtEnd(full);
            if (full.startsWith(emitted) && safe > emitted.length()) {
                next = new Token(id, full.substring(emitted.length(), safe));
                emitted = full.substring(0, safe);
            } else {
                next = new Token(id, "");
            }
        }
        return true;
    }

    /** The length of the longest end of {@code text} that begins a stop sequence. */
    private int stopPrefixAtEnd(String text) {
        int longest = 0;
        for (String s : request.stop()) {
            for (int k = Math.min(s.length() - 1, text.length()); k > longest; k--) {
                if (text.endsWith(s.substring(0, k))) {
                    longest = k;
                    break;
                }
            }
        }
        return longest;
    }

    /** The generated text: detokenized with what came before (for spacing), then cut off it. */
    private String continuation() {
        int[] out = tokens.stream().mapToInt(Integer::intValue).toArray();
        int[] all = Arrays.copyOf(before, before.length + out.length);
        System.arraycopy(out, 0, all, before.length, out.length);
        String text = head.detokenize(all);
        return text.startsWith(beforeText) ? text.substring(beforeText.length()) : head.detokenize(out);
    }

    private int stopIndex(String text) {
        int cut = -1;
        for (String s : request.stop()) {
            int i = text.indexOf(s);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        return cut;
    }

    private void finish(FinishReason reason, String text) {
        finished = true;
        List<float[]> logits = loop.logits();
        if (logits.size() > tokens.size()) logits = logits.subList(0, tokens.size()); // the end-of-text row chose no token
        List<Failover> failovers = chain.failovers();
        var stats = new GenerationStats(promptTokens.length, tokens.size(), loop.prefillSeconds(), loop.tokensPerSecond(),
                Arrays.stream(loop.stepMillis()).boxed().toList(), failovers.subList(Math.min(failoversBefore, failovers.size()),
                failovers.size()));
        result = new Generation(Arrays.stream(promptTokens).boxed().toList(), tokens, text, reason, stats, logits);
    }

    /** Whether the generation failed (a forward pass threw). */
    boolean failed() {
        return failed;
    }

    GenerationLoop loop() {
        return loop;
    }

    /** Cancels the generation if it is still running and frees its sessions (a chat session's stay open). Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        next = null;
        try {
            loop.close();
        } finally {
            onClose.accept(this);
        }
    }
}

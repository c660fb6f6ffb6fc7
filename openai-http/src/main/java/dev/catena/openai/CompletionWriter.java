package dev.catena.openai;

import dev.catena.core.FinishReason;
import dev.catena.core.Generation;
import dev.catena.core.GenerationRequest;
import dev.catena.core.Generator;
import dev.catena.core.Token;
import dev.catena.core.TokenStream;
import dev.catena.openai.RequestParser.Call;
import io.netty.handler.codec.http.HttpResponseStatus;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs one parsed {@link Call} on the generator (on a worker thread) and writes its answer in OpenAI's format: SSE
 * chunks when streaming, else one JSON body, with logprobs computed from the kept logits. Kept apart from the HTTP
 * plumbing so that the response shapes, and the pool that bounds generations, live in one place.
 */
final class CompletionWriter {
    private static final System.Logger LOG = System.getLogger(OpenAiServer.class.getName());
    private static final JsonMapper JSON = OpenAiServer.JSON;

    private final Generator generator;
    private final Logprobs logprobs;
    private final String model;
    private final int maxConcurrent;
    private final Semaphore permits;
    private final ExecutorService workers;
    private volatile java.util.function.Consumer<Generation> onGenerated = g -> { };
    private volatile java.util.function.BiConsumer<Integer, Integer> onCancelled = (prompt, generated) -> { };

    CompletionWriter(Generator generator, String model, int maxConcurrent) {
        this.generator = generator;
        this.logprobs = new Logprobs(generator);
        this.model = model;
        this.maxConcurrent = maxConcurrent;
        this.permits = new Semaphore(maxConcurrent);
        // The permits bound the generations; the pool reuses an idle (warm) thread when it has one, where a fixed pool
        // would start a new thread for each of its first maxConcurrent requests.
        this.workers = Executors.newCachedThreadPool(Thread.ofPlatform().name("catena-openai-", 0).daemon().factory());
    }

    /** Runs {@code call} on a worker, or throws 429 when {@code maxConcurrent} generations are running already. */
    void submit(Call call, Exchange ex) {
        if (!permits.tryAcquire()) {
            throw new ApiError(HttpResponseStatus.TOO_MANY_REQUESTS, "requests",
                    "the server is busy (" + maxConcurrent + " requests in progress); retry later", null, "rate_limit_exceeded");
        }
        var released = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable release = () -> {
            if (released.compareAndSet(false, true)) permits.release();
        };
        ex.beforeLastWrite(release);
        try {
            workers.execute(() -> {
                try {
                    run(call, ex);
                } finally {
                    release.run();
                }
            });
        } catch (RuntimeException e) {
            release.run();
            throw new ApiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_error", "the server is shutting down", null, null);
        }
    }

    /** Told each generation that ran to its end (for the metrics), on the worker, before its answer is written. */
    void onGenerated(java.util.function.Consumer<Generation> hook) {
        this.onGenerated = hook;
    }

    /** Told each generation whose client left before its end: its prompt tokens and the tokens computed for it. */
    void onCancelled(java.util.function.BiConsumer<Integer, Integer> hook) {
        this.onCancelled = hook;
    }

    /** The prompt tokens of {@code request} as the generator counts them (a text prompt is tokenized as it tokenizes it). */
    private int promptTokens(GenerationRequest request) {
        return request.promptTokens().map(List::size).orElseGet(() -> generator.tokenize(request.prompt().orElseThrow(), true).size());
    }

    /** Interrupts the running generations and waits (up to 10 s) for their workers to end. */
    void close() {
        workers.shutdownNow();
        try {
            workers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run(Call call, Exchange ex) {
        var cancelled = new AtomicBoolean();
        ex.ch.closeFuture().addListener(f -> cancelled.set(true));
        // An opaque unique id; ThreadLocalRandom rather than UUID's SecureRandom, which the first token would wait for.
        var random = java.util.concurrent.ThreadLocalRandom.current();
        String id = (call.chat() ? "chatcmpl-" : "cmpl-") + java.util.HexFormat.of().toHexDigits(random.nextLong())
                + java.util.HexFormat.of().toHexDigits(random.nextLong());
        long now = System.currentTimeMillis() / 1000;
        TokenChunks tokens = call.stream() ? new TokenChunks(id, now, model, call.chat(), call.includeUsage()) : null;
        TokenStream stream;
        GenerationRequest request;
        try {
            request = call.request().get();
            stream = generator.stream(request);
        } catch (RuntimeException e) {
            ex.error(ApiError.translate(e));
            return;
        }
        try (stream) {
            var it = stream.iterator();
            // The first token (after prefill) comes before any header, so an early failure still gets its status.
            boolean any;
            try {
                any = it.hasNext();
            } catch (RuntimeException e) {
                ex.error(ApiError.translate(e));
                return;
            }
            if (call.stream()) {
                if (call.chat()) {
                    ObjectNode delta = JSON.createObjectNode();
                    delta.put("role", "assistant");
                    delta.put("content", "");
                    ex.startEvents(List.of(chunk(call, id, now, delta, null, null)));
                } else {
                    ex.startEvents(List.of());
                }
            }
            int pulled = 0;
            try {
                while (any) {
                    if (cancelled.get() || !ex.ch.isActive()) {
                        LOG.log(System.Logger.Level.DEBUG, "client gone; generation {0} cancelled", id);
                        // Counted as far as it went: the tokens sent, and the one computed since (hasNext ran its step).
                        onCancelled.accept(promptTokens(request), pulled + 1);
                        ex.discardEvents();
                        return; // closing the stream closes the sessions
                    }
                    Token t = it.next();
                    pulled++;
                    if (tokens != null) {
                        if (!t.text().isEmpty()) ex.event(tokens.token(ex.ch.alloc(), t.text()));
                        else if (pulled == 1) ex.sendHead(); // the head (and chat's role) need not wait for text
                    }
                    any = it.hasNext();
                }
            } catch (RuntimeException e) {
                ApiError err = ApiError.translate(e);
                if (call.stream()) {
                    ex.endEvents(List.of(JSON.writeValueAsString(err.body())));
                } else {
                    ex.error(err);
                }
                return;
            }
            Generation g = stream.result();
            if (call.stream()) ex.flushEvents(); // tokens waiting for the stream's tick need not wait for the sessions' close
            stream.close(); // sessions and KV freed before the answer ends: a client that read it sees them gone
            onGenerated.accept(g);
            String finish = g.finishReason() == FinishReason.STOP ? "stop" : "length";
            ObjectNode usage = JSON.createObjectNode();
            usage.put("prompt_tokens", g.promptTokens().size());
            usage.put("completion_tokens", g.tokens().size());
            usage.put("total_tokens", g.promptTokens().size() + g.tokens().size());
            if (call.stream()) {
                // The last events leave together: one wake-up of the event loop and of the client, not one each.
                var last = new java.util.ArrayList<String>(3);
                last.add(chunk(call, id, now, call.chat() ? JSON.createObjectNode() : "", finish, null));
                if (call.includeUsage()) last.add(chunk(call, id, now, null, null, usage));
                last.add("[DONE]");
                ex.endEvents(last);
            } else {
                ObjectNode r = JSON.createObjectNode();
                r.put("id", id);
                r.put("object", call.chat() ? "chat.completion" : "text_completion");
                r.put("created", now);
                r.put("model", model);
                ObjectNode choice = r.putArray("choices").addObject();
                choice.put("index", 0);
                if (call.chat()) {
                    ObjectNode msg = choice.putObject("message");
                    msg.put("role", "assistant");
                    msg.put("content", g.text());
                } else {
                    choice.put("text", g.text());
                }
                if (call.logprobs() >= 0) choice.set("logprobs", logprobs.of(g, call.chat(), call.logprobs()));
                else choice.putNull("logprobs");
                choice.put("finish_reason", finish);
                r.set("usage", usage);
                ex.json(HttpResponseStatus.OK, r);
            }
        }
    }

    /** One SSE chunk; {@code content} is a delta object (chat) or text (completions); null with usage for the usage chunk. */
    private String chunk(Call call, String id, long now, Object content, String finish, ObjectNode usage) {
        ObjectNode c = JSON.createObjectNode();
        c.put("id", id);
        c.put("object", call.chat() ? "chat.completion.chunk" : "text_completion");
        c.put("created", now);
        c.put("model", model);
        ArrayNode choices = c.putArray("choices");
        if (content != null) {
            ObjectNode choice = choices.addObject();
            choice.put("index", 0);
            if (content instanceof ObjectNode delta) choice.set("delta", delta);
            else choice.put("text", (String) content);
            choice.putNull("logprobs");
            if (finish == null) choice.putNull("finish_reason");
            else choice.put("finish_reason", finish);
        }
        if (call.includeUsage()) {
            if (usage == null) c.putNull("usage");
            else c.set("usage", usage);
        }
        return JSON.writeValueAsString(c);
    }
}

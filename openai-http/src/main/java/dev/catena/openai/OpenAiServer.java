package dev.catena.openai;

import dev.catena.api.CatenaException;
import dev.catena.core.FinishReason;
import dev.catena.core.Generation;
import dev.catena.core.GenerationRequest;
import dev.catena.core.Generator;
import dev.catena.core.Token;
import dev.catena.core.TokenStream;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An OpenAI-compatible HTTP API over any {@link Generator}: {@code GET /v1/models}, {@code POST /v1/completions} and
 * {@code POST /v1/chat/completions}, with SSE streaming in OpenAI's chunk format.
 *
 * <p>Generation runs off Netty's event loop, on a pool of {@code maxConcurrent} threads; a request beyond that is
 * answered 429 with {@code Retry-After}. A client that disconnects mid-stream closes its {@link TokenStream}, which
 * closes its server sessions.
 *
 * <p>{@code logprobs} (up to 5 alternatives, from the model's raw logits) is answered without streaming only; with
 * {@code stream} it is answered 400, as are {@code n} &gt; 1, {@code echo} and tools. Chat messages are rendered with a fixed
 * fallback template ({@link #renderChat}), not yet the GGUF's {@code tokenizer.chat_template}.
 */
public final class OpenAiServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(OpenAiServer.class.getName());
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Generator generator;
    private final String model;
    private final String host;
    private final int requestedPort;
    private final int maxConcurrent;
    private final String apiKey;
    private final int maxBodyBytes;
    private final int defaultChatMaxTokens;
    private final long created = System.currentTimeMillis() / 1000;
    private final Semaphore permits;
    private final ExecutorService workers;
    private EventLoopGroup group;
    private Channel channel;
    private volatile boolean closed;

    private OpenAiServer(Builder b) {
        this.generator = b.generator;
        this.model = b.model;
        this.host = b.host;
        this.requestedPort = b.port;
        this.maxConcurrent = b.maxConcurrent;
        this.apiKey = b.apiKey;
        this.maxBodyBytes = b.maxBodyBytes;
        this.defaultChatMaxTokens = b.defaultChatMaxTokens;
        this.permits = new Semaphore(maxConcurrent);
        this.workers = Executors.newFixedThreadPool(maxConcurrent, Thread.ofPlatform().name("catena-openai-", 0).daemon().factory());
    }

    /** A builder over {@code generator}, which the server uses but does not close. */
    public static Builder builder(Generator generator) {
        return new Builder(generator);
    }

    /**
     * Binds and starts serving; returns this server.
     *
     * @throws IllegalStateException when the address cannot be bound (e.g. the port is in use)
     */
    public synchronized OpenAiServer start() {
        if (channel != null) throw new IllegalStateException("already started");
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new Aggregator(maxBodyBytes), new Handler());
                        }
                    }).bind(host, requestedPort).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            group.shutdownGracefully();
            throw new IllegalStateException("interrupted while binding", e);
        } catch (Exception e) { // Netty rethrows a failed bind's checked exception as is
            group.shutdownGracefully();
            throw new IllegalStateException("cannot listen on " + host + ":" + requestedPort + ": " + e.getMessage(), e);
        }
        return this;
    }

    /** The bound port. */
    public int port() {
        return address().getPort();
    }

    /** The bound address. */
    public InetSocketAddress address() {
        if (channel == null) throw new IllegalStateException("not started");
        return (InetSocketAddress) channel.localAddress();
    }

    /** The model name that {@code /v1/models} lists and requests must name. */
    public String model() {
        return model;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (channel != null) channel.close().syncUninterruptibly();
        workers.shutdownNow();
        try {
            workers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (group != null) group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /**
     * The fallback chat rendering: one {@code "Role: content"} line per message ({@code System}, {@code User},
     * {@code Assistant}), then {@code "Assistant:"} for the reply.
     */
    public static String renderChat(List<String[]> roleAndContent) {
        var sb = new StringBuilder();
        for (String[] m : roleAndContent) {
            String role = switch (m[0]) {
                case "system", "developer" -> "System";
                case "user" -> "User";
                default -> "Assistant";
            };
            sb.append(role).append(": ").append(m[1]).append('\n');
        }
        return sb.append("Assistant:").toString();
    }

    // ---------------------------------------------------------------- errors

    /** An answer in OpenAI's error shape. */
    static final class ApiError extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient HttpResponseStatus status;
        final String type;
        final String param;
        final String code;

        ApiError(HttpResponseStatus status, String type, String message, String param, String code) {
            super(message, null, false, false);
            this.status = status;
            this.type = type;
            this.param = param;
            this.code = code;
        }

        static ApiError bad(String message, String param) {
            return new ApiError(HttpResponseStatus.BAD_REQUEST, "invalid_request_error", message, param, null);
        }

        ObjectNode body() {
            ObjectNode root = JSON.createObjectNode();
            ObjectNode e = root.putObject("error");
            e.put("message", getMessage());
            e.put("type", type);
            e.put("param", param);
            e.put("code", code);
            return root;
        }
    }

    /** A generator failure as an API error. */
    static ApiError translate(RuntimeException e) {
        if (e instanceof ApiError a) return a;
        String msg = String.valueOf(e.getMessage());
        if (e instanceof IllegalArgumentException) {
            if (msg.contains("exceed max length")) {
                return new ApiError(HttpResponseStatus.BAD_REQUEST, "invalid_request_error",
                        "This model's maximum context length is exceeded: " + msg, "messages", "context_length_exceeded");
            }
            return ApiError.bad(msg, null);
        }
        if (e instanceof CatenaException) {
            return new ApiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_error", "the swarm cannot serve the request: " + msg,
                    null, "swarm_unavailable");
        }
        LOG.log(System.Logger.Level.WARNING, "generation failed", e);
        return new ApiError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "server_error", msg, null, null);
    }

    // ---------------------------------------------------------------- HTTP

    private final class Aggregator extends HttpObjectAggregator {
        Aggregator(int max) {
            super(max);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            var err = new ApiError(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "invalid_request_error",
                    "the request body is over the limit of " + maxBodyBytes + " bytes", null, "request_too_large");
            boolean close = oversized instanceof FullHttpMessage || !HttpUtil.isKeepAlive(oversized);
            FullHttpResponse r = jsonResponse(err.status, err.body());
            if (close) r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            var f = ctx.writeAndFlush(r);
            if (close) f.addListener(ChannelFutureListener.CLOSE);
            else f.addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        }
    }

    private static FullHttpResponse jsonResponse(HttpResponseStatus status, JsonNode body) {
        byte[] bytes = JSON.writeValueAsBytes(body);
        var r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(bytes));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        return r;
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            var exchange = new Exchange(ctx.channel(), keepAlive);
            try {
                route(req, exchange);
            } catch (ApiError e) {
                exchange.error(e);
            } catch (RuntimeException e) {
                exchange.error(translate(e));
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.log(System.Logger.Level.DEBUG, "HTTP connection failed", cause);
            ctx.close();
        }
    }

    /** One request's response, writable from any thread. */
    private static final class Exchange {
        final Channel ch;
        final boolean keepAlive;

        Exchange(Channel ch, boolean keepAlive) {
            this.ch = ch;
            this.keepAlive = keepAlive;
        }

        void json(HttpResponseStatus status, JsonNode body) {
            send(jsonResponse(status, body));
        }

        void error(ApiError e) {
            var r = jsonResponse(e.status, e.body());
            if (e.status.equals(HttpResponseStatus.TOO_MANY_REQUESTS)) r.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
            if (e.status.equals(HttpResponseStatus.UNAUTHORIZED)) r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
            send(r);
        }

        void send(FullHttpResponse r) {
            if (keepAlive) {
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
                ch.writeAndFlush(r);
            } else {
                ch.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
            }
        }

        void startEvents() {
            HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream");
            r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
            r.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            if (keepAlive) r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ch.writeAndFlush(r);
        }

        void event(String data) {
            byte[] b = ("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8);
            var f = ch.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(b)));
            if (!ch.isWritable()) f.awaitUninterruptibly(30, TimeUnit.SECONDS); // a slow reader holds the generation back
        }

        void endEvents() {
            var f = ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            if (!keepAlive) f.addListener(ChannelFutureListener.CLOSE);
        }
    }

    private void route(FullHttpRequest req, Exchange ex) {
        String path = req.uri();
        int q = path.indexOf('?');
        if (q >= 0) path = path.substring(0, q);
        if (path.length() > 1 && path.endsWith("/")) path = path.substring(0, path.length() - 1);
        boolean known = path.equals("/v1/models") || path.startsWith("/v1/models/") || path.equals("/v1/completions")
                || path.equals("/v1/chat/completions");
        if (!known) {
            throw new ApiError(HttpResponseStatus.NOT_FOUND, "invalid_request_error", "no endpoint " + req.method() + " " + path,
                    null, "unknown_url");
        }
        authorize(req);
        if (path.startsWith("/v1/models")) {
            if (!req.method().equals(HttpMethod.GET)) throw methodNotAllowed(req, path);
            if (path.equals("/v1/models")) {
                ObjectNode list = JSON.createObjectNode();
                list.put("object", "list");
                list.putArray("data").add(modelObject());
                ex.json(HttpResponseStatus.OK, list);
            } else {
                String name = path.substring("/v1/models/".length());
                if (!name.equals(model)) throw unknownModel(name);
                ex.json(HttpResponseStatus.OK, modelObject());
            }
            return;
        }
        if (!req.method().equals(HttpMethod.POST)) throw methodNotAllowed(req, path);
        JsonNode body;
        try {
            body = JSON.readTree(req.content().toString(StandardCharsets.UTF_8));
        } catch (JacksonException e) {
            throw ApiError.bad("the request body is not valid JSON: " + e.getOriginalMessage(), null);
        }
        if (body == null || !body.isObject()) throw ApiError.bad("the request body must be a JSON object", null);
        boolean chat = path.equals("/v1/chat/completions");
        Call call = chat ? parseChat(body) : parseCompletion(body);
        if (!permits.tryAcquire()) {
            throw new ApiError(HttpResponseStatus.TOO_MANY_REQUESTS, "requests",
                    "the server is busy (" + maxConcurrent + " requests in progress); retry later", null, "rate_limit_exceeded");
        }
        try {
            workers.execute(() -> {
                try {
                    run(call, ex);
                } finally {
                    permits.release();
                }
            });
        } catch (RuntimeException e) {
            permits.release();
            throw new ApiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_error", "the server is shutting down", null, null);
        }
    }

    private ApiError methodNotAllowed(FullHttpRequest req, String path) {
        return new ApiError(HttpResponseStatus.METHOD_NOT_ALLOWED, "invalid_request_error",
                req.method() + " is not allowed on " + path, null, "method_not_allowed");
    }

    private ApiError unknownModel(String name) {
        return new ApiError(HttpResponseStatus.NOT_FOUND, "invalid_request_error",
                "The model '" + name + "' does not exist; this server serves '" + model + "'", "model", "model_not_found");
    }

    private ObjectNode modelObject() {
        ObjectNode m = JSON.createObjectNode();
        m.put("id", model);
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "catena");
        return m;
    }

    private void authorize(FullHttpRequest req) {
        if (apiKey == null) return;
        String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        String given = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).trim() : null;
        if (given == null) {
            throw new ApiError(HttpResponseStatus.UNAUTHORIZED, "invalid_request_error",
                    "You didn't provide an API key (Authorization: Bearer KEY)", null, "invalid_api_key");
        }
        if (!java.security.MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), apiKey.getBytes(StandardCharsets.UTF_8))) {
            throw new ApiError(HttpResponseStatus.UNAUTHORIZED, "invalid_request_error", "Incorrect API key provided", null,
                    "invalid_api_key");
        }
    }

    // ---------------------------------------------------------------- requests

    /** A parsed request. */
    private record Call(boolean chat, GenerationRequest request, boolean stream, boolean includeUsage, int logprobs) {
    }

    private void checkModel(JsonNode body) {
        JsonNode m = body.get("model");
        if (m == null || m.isNull()) return;
        if (!m.isString()) throw ApiError.bad("'model' must be a string", "model");
        if (!m.stringValue().equals(model)) throw unknownModel(m.stringValue());
    }

    private Call parseCompletion(JsonNode body) {
        checkModel(body);
        JsonNode p = body.get("prompt");
        GenerationRequest.Builder b;
        if (p == null || p.isNull()) {
            throw ApiError.bad("'prompt' is required", "prompt");
        } else if (p.isString()) {
            if (p.stringValue().isEmpty()) throw ApiError.bad("'prompt' must not be empty", "prompt");
            b = GenerationRequest.builder(p.stringValue());
        } else if (p.isArray() && p.size() == 1 && p.get(0).isString()) {
            b = GenerationRequest.builder(p.get(0).stringValue());
        } else if (p.isArray() && !p.isEmpty() && allInts(p)) {
            List<Integer> ids = new ArrayList<>();
            for (JsonNode t : p) ids.add(t.intValue());
            b = GenerationRequest.builder(ids);
        } else {
            throw ApiError.bad("'prompt' must be a string or a non-empty array of token ids (one prompt per request)", "prompt");
        }
        int logprobs = -1;
        JsonNode lp = body.get("logprobs");
        if (lp != null && !lp.isNull()) {
            if (!lp.isIntegralNumber() || lp.intValue() < 0 || lp.intValue() > 5) {
                throw ApiError.bad("'logprobs' must be an integer in [0, 5]", "logprobs");
            }
            logprobs = lp.intValue();
        }
        if (body.path("echo").asBoolean(false)) throw ApiError.bad("'echo' is not supported yet", "echo");
        if (body.has("suffix") && !body.get("suffix").isNull()) throw ApiError.bad("'suffix' is not supported", "suffix");
        int maxTokens = intField(body, "max_tokens", 16, 1);
        return common(body, b, maxTokens, false, logprobs);
    }

    private Call parseChat(JsonNode body) {
        checkModel(body);
        JsonNode msgs = body.get("messages");
        if (msgs == null || !msgs.isArray() || msgs.isEmpty()) throw ApiError.bad("'messages' must be a non-empty array", "messages");
        List<String[]> rendered = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) {
            JsonNode m = msgs.get(i);
            String role = m.path("role").isString() ? m.get("role").stringValue() : null;
            if (role == null || !List.of("system", "developer", "user", "assistant").contains(role)) {
                throw ApiError.bad("messages[" + i + "].role must be system, user or assistant", "messages[" + i + "].role");
            }
            rendered.add(new String[] {role, content(m.get("content"), i)});
        }
        int logprobs = -1;
        JsonNode lp = body.get("logprobs");
        if (lp != null && !lp.isNull() && !lp.isBoolean()) throw ApiError.bad("'logprobs' must be a boolean", "logprobs");
        if (lp != null && lp.booleanValue()) logprobs = intField(body, "top_logprobs", 0, 0);
        if (logprobs > 5) throw ApiError.bad("'top_logprobs' must be in [0, 5]", "top_logprobs");
        if (body.has("tools") && !body.get("tools").isNull() && !body.get("tools").isEmpty()) {
            throw ApiError.bad("'tools' is not supported", "tools");
        }
        int maxTokens = body.has("max_completion_tokens") && !body.get("max_completion_tokens").isNull()
                ? intField(body, "max_completion_tokens", defaultChatMaxTokens, 1)
                : intField(body, "max_tokens", defaultChatMaxTokens, 1);
        return common(body, GenerationRequest.builder(renderChat(rendered)), maxTokens, true, logprobs);
    }

    private static String content(JsonNode c, int i) {
        if (c == null || c.isNull()) return "";
        if (c.isString()) return c.stringValue();
        if (c.isArray()) {
            var sb = new StringBuilder();
            for (JsonNode part : c) {
                if (!"text".equals(part.path("type").asString(null)) || !part.path("text").isString()) {
                    throw ApiError.bad("messages[" + i + "].content: only text parts are supported", "messages[" + i + "].content");
                }
                sb.append(part.get("text").stringValue());
            }
            return sb.toString();
        }
        throw ApiError.bad("messages[" + i + "].content must be a string or an array of text parts", "messages[" + i + "].content");
    }

    private Call common(JsonNode body, GenerationRequest.Builder b, int maxTokens, boolean chat, int logprobs) {
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && !(n.isIntegralNumber() && n.intValue() == 1)) {
            throw ApiError.bad("'n' must be 1: this server generates one choice per request", "n");
        }
        JsonNode bo = body.get("best_of");
        if (bo != null && !bo.isNull() && !(bo.isIntegralNumber() && bo.intValue() == 1)) {
            throw ApiError.bad("'best_of' must be 1", "best_of");
        }
        b.maxTokens(maxTokens);
        float temperature = floatField(body, "temperature", Float.NaN);
        if (!Float.isNaN(temperature) && (temperature < 0 || temperature > 2)) {
            throw ApiError.bad("'temperature' must be in [0, 2], got " + temperature, "temperature");
        }
        if (temperature == 0) {
            b.greedy();
        } else {
            if (!Float.isNaN(temperature)) b.temperature(temperature);
            float topP = floatField(body, "top_p", Float.NaN);
            if (!Float.isNaN(topP)) {
                if (!(topP > 0 && topP <= 1)) throw ApiError.bad("'top_p' must be in (0, 1], got " + topP, "top_p");
                b.topP(topP);
            }
            if (body.has("top_k") && !body.get("top_k").isNull()) b.topK(intField(body, "top_k", 40, 0));
            float minP = floatField(body, "min_p", Float.NaN);
            if (!Float.isNaN(minP)) {
                if (!(minP >= 0 && minP <= 1)) throw ApiError.bad("'min_p' must be in [0, 1], got " + minP, "min_p");
                b.minP(minP);
            }
            JsonNode seed = body.get("seed");
            if (seed != null && !seed.isNull()) {
                if (!seed.isIntegralNumber()) throw ApiError.bad("'seed' must be an integer", "seed");
                b.seed(seed.longValue());
            }
        }
        JsonNode stop = body.get("stop");
        if (stop != null && !stop.isNull()) {
            List<String> seqs = new ArrayList<>();
            if (stop.isString()) {
                seqs.add(stop.stringValue());
            } else if (stop.isArray() && stop.size() <= 4) {
                for (JsonNode s : stop) {
                    if (!s.isString()) throw ApiError.bad("'stop' must be a string or a list of up to 4 strings", "stop");
                    seqs.add(s.stringValue());
                }
            } else {
                throw ApiError.bad("'stop' must be a string or a list of up to 4 strings", "stop");
            }
            seqs.removeIf(String::isEmpty);
            b.stop(seqs.toArray(String[]::new));
        }
        if (body.path("ignore_eos").asBoolean(false)) b.ignoreEos(); // llama.cpp server's extension
        JsonNode streamNode = body.get("stream");
        if (streamNode != null && !streamNode.isNull() && !streamNode.isBoolean()) throw ApiError.bad("'stream' must be a boolean", "stream");
        boolean stream = streamNode != null && streamNode.asBoolean(false);
        boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
        if (logprobs >= 0) {
            if (stream) throw ApiError.bad("'logprobs' with 'stream' is not supported yet", "logprobs");
            b.keepLogits();
        }
        try {
            return new Call(chat, b.build(), stream, includeUsage, logprobs);
        } catch (IllegalArgumentException e) {
            throw ApiError.bad(e.getMessage(), null);
        }
    }

    private static boolean allInts(JsonNode a) {
        for (JsonNode t : a) if (!t.isIntegralNumber() || !t.canConvertToInt()) return false;
        return true;
    }

    private static int intField(JsonNode body, String name, int dflt, int min) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < min) {
            throw ApiError.bad("'" + name + "' must be an integer >= " + min, name);
        }
        return v.intValue();
    }

    private static float floatField(JsonNode body, String name, float dflt) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber()) throw ApiError.bad("'" + name + "' must be a number", name);
        return v.floatValue();
    }

    // ---------------------------------------------------------------- generation

    private void run(Call call, Exchange ex) {
        var cancelled = new AtomicBoolean();
        ex.ch.closeFuture().addListener(f -> cancelled.set(true));
        String id = (call.chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
        long now = System.currentTimeMillis() / 1000;
        TokenStream stream;
        try {
            stream = generator.stream(call.request);
        } catch (RuntimeException e) {
            ex.error(translate(e));
            return;
        }
        try (stream) {
            var it = stream.iterator();
            // The first token (after prefill) comes before any header, so an early failure still gets its status.
            boolean any;
            try {
                any = it.hasNext();
            } catch (RuntimeException e) {
                ex.error(translate(e));
                return;
            }
            if (call.stream) {
                ex.startEvents();
                if (call.chat) {
                    ObjectNode delta = JSON.createObjectNode();
                    delta.put("role", "assistant");
                    delta.put("content", "");
                    ex.event(chunk(call, id, now, delta, null, null));
                }
            }
            var text = new StringBuilder();
            try {
                while (any) {
                    if (cancelled.get() || !ex.ch.isActive()) {
                        LOG.log(System.Logger.Level.DEBUG, "client gone; generation {0} cancelled", id);
                        return; // closing the stream closes the sessions
                    }
                    Token t = it.next();
                    text.append(t.text());
                    if (call.stream && !t.text().isEmpty()) {
                        if (call.chat) {
                            ObjectNode delta = JSON.createObjectNode();
                            delta.put("content", t.text());
                            ex.event(chunk(call, id, now, delta, null, null));
                        } else {
                            ex.event(chunk(call, id, now, t.text(), null, null));
                        }
                    }
                    any = it.hasNext();
                }
            } catch (RuntimeException e) {
                ApiError err = translate(e);
                if (call.stream) {
                    ex.event(JSON.writeValueAsString(err.body()));
                    ex.endEvents();
                } else {
                    ex.error(err);
                }
                return;
            }
            Generation g = stream.result();
            String finish = g.finishReason() == FinishReason.STOP ? "stop" : "length";
            ObjectNode usage = JSON.createObjectNode();
            usage.put("prompt_tokens", g.promptTokens().size());
            usage.put("completion_tokens", g.tokens().size());
            usage.put("total_tokens", g.promptTokens().size() + g.tokens().size());
            if (call.stream) {
                ex.event(chunk(call, id, now, call.chat ? JSON.createObjectNode() : "", finish, null));
                if (call.includeUsage) ex.event(chunk(call, id, now, null, null, usage));
                ex.event("[DONE]");
                ex.endEvents();
            } else {
                ObjectNode r = JSON.createObjectNode();
                r.put("id", id);
                r.put("object", call.chat ? "chat.completion" : "text_completion");
                r.put("created", now);
                r.put("model", model);
                ObjectNode choice = r.putArray("choices").addObject();
                choice.put("index", 0);
                if (call.chat) {
                    ObjectNode msg = choice.putObject("message");
                    msg.put("role", "assistant");
                    msg.put("content", g.text());
                } else {
                    choice.put("text", g.text());
                }
                if (call.logprobs >= 0) choice.set("logprobs", logprobs(g, call.chat, call.logprobs));
                else choice.putNull("logprobs");
                choice.put("finish_reason", finish);
                r.set("usage", usage);
                ex.json(HttpResponseStatus.OK, r);
            }
        }
    }

    /** OpenAI's logprobs object for a generation kept with logits: each token's log-probability and its {@code top} best. */
    private ObjectNode logprobs(Generation g, boolean chat, int top) {
        ObjectNode lp = JSON.createObjectNode();
        ArrayNode content = chat ? lp.putArray("content") : null;
        ArrayNode tokens = chat ? null : lp.putArray("tokens");
        ArrayNode tokenLogprobs = chat ? null : lp.putArray("token_logprobs");
        ArrayNode topLogprobs = chat ? null : lp.putArray("top_logprobs");
        ArrayNode offsets = chat ? null : lp.putArray("text_offset");
        int offset = 0;
        for (int i = 0; i < g.tokens().size() && i < g.logits().size(); i++) {
            float[] row = g.logits().get(i);
            double max = Double.NEGATIVE_INFINITY;
            for (float v : row) max = Math.max(max, v);
            double sum = 0;
            for (float v : row) sum += Math.exp(v - max);
            double logZ = max + Math.log(sum);
            int id = g.tokens().get(i);
            int previous = i > 0 ? g.tokens().get(i - 1) : g.promptTokens().getLast();
            String piece = piece(previous, id);
            double logprob = row[id] - logZ;
            int[] best = topIds(row, top);
            if (chat) {
                ObjectNode t = content.addObject();
                t.put("token", piece);
                t.put("logprob", logprob);
                bytes(t, piece);
                ArrayNode alts = t.putArray("top_logprobs");
                for (int b : best) {
                    ObjectNode a = alts.addObject();
                    String alt = piece(previous, b);
                    a.put("token", alt);
                    a.put("logprob", row[b] - logZ);
                    bytes(a, alt);
                }
            } else {
                tokens.add(piece);
                tokenLogprobs.add(logprob);
                ObjectNode alts = topLogprobs.addObject();
                for (int b : best) alts.put(piece(previous, b), row[b] - logZ);
                offsets.add(offset);
                offset += piece.length();
            }
        }
        return lp;
    }

    /** The text {@code id} adds after {@code previous} (detokenized alone, a token may lose its leading space). */
    private String piece(int previous, int id) {
        String before = generator.detokenize(List.of(previous));
        String both = generator.detokenize(List.of(previous, id));
        return both.startsWith(before) ? both.substring(before.length()) : generator.detokenize(List.of(id));
    }

    private static void bytes(ObjectNode node, String text) {
        ArrayNode a = node.putArray("bytes");
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) a.add(b & 0xff);
    }

    /** The ids of the {@code k} largest values, largest first (ties to the lowest id). */
    static int[] topIds(float[] row, int k) {
        int[] best = new int[Math.min(k, row.length)];
        int n = 0;
        for (int id = 0; id < row.length; id++) {
            int at = n;
            while (at > 0 && row[best[at - 1]] < row[id]) at--;
            if (at >= best.length) continue;
            int end = Math.min(n, best.length - 1);
            System.arraycopy(best, at, best, at + 1, end - at);
            best[at] = id;
            if (n < best.length) n++;
        }
        return best;
    }

    /** One SSE chunk; {@code content} is a delta object (chat) or text (completions); null with usage for the usage chunk. */
    private String chunk(Call call, String id, long now, Object content, String finish, ObjectNode usage) {
        ObjectNode c = JSON.createObjectNode();
        c.put("id", id);
        c.put("object", call.chat ? "chat.completion.chunk" : "text_completion");
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
        if (call.includeUsage) {
            if (usage == null) c.putNull("usage");
            else c.set("usage", usage);
        }
        return JSON.writeValueAsString(c);
    }

    /** Builds an {@link OpenAiServer}. */
    public static final class Builder {
        private final Generator generator;
        private String model = "catena";
        private String host = "127.0.0.1";
        private int port = 8080;
        private int maxConcurrent = 4;
        private String apiKey;
        private int maxBodyBytes = 1 << 20;
        private int defaultChatMaxTokens = 128;

        private Builder(Generator generator) {
            this.generator = Objects.requireNonNull(generator, "generator");
        }

        /** The model name listed by {@code /v1/models}; requests naming another model get 404 (default "catena"). */
        public Builder model(String model) {
            if (model == null || model.isBlank()) throw new IllegalArgumentException("the model name must not be blank");
            this.model = model;
            return this;
        }

        /** The address to bind (default 127.0.0.1). */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /** The port (default 8080; 0 binds any free port, see {@link OpenAiServer#port()}). */
        public Builder port(int port) {
            if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
            this.port = port;
            return this;
        }

        /** Generations running at once (default 4); a request beyond them is answered 429 with Retry-After. */
        public Builder maxConcurrent(int n) {
            if (n < 1) throw new IllegalArgumentException("maxConcurrent must be >= 1, got " + n);
            this.maxConcurrent = n;
            return this;
        }

        /** When set, requests need {@code Authorization: Bearer KEY} (else 401); null for none (the default). */
        public Builder apiKey(String key) {
            this.apiKey = key == null || key.isEmpty() ? null : key;
            return this;
        }

        /** The largest request body (default 1 MiB); a larger one is answered 413. */
        public Builder maxBodyBytes(int bytes) {
            if (bytes < 1) throw new IllegalArgumentException("maxBodyBytes must be >= 1, got " + bytes);
            this.maxBodyBytes = bytes;
            return this;
        }

        /** Tokens a chat completion generates when the request gives no max_tokens (default 128). */
        public Builder defaultChatMaxTokens(int tokens) {
            if (tokens < 1) throw new IllegalArgumentException("defaultChatMaxTokens must be >= 1, got " + tokens);
            this.defaultChatMaxTokens = tokens;
            return this;
        }

        /** A started server. */
        public OpenAiServer start() {
            return new OpenAiServer(this).start();
        }
    }
}

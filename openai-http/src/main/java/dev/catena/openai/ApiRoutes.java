package dev.catena.openai;

import dev.catena.core.Generator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import tools.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;

/**
 * How {@link OpenAiServer} answers a request: the body's size limit, the API key, the {@code /v1} endpoints
 * (completions go to the {@link CompletionWriter}), and the page, health and metrics ({@link ObservabilityRoutes}).
 */
final class ApiRoutes {
    private static final System.Logger LOG = System.getLogger(ApiRoutes.class.getName());
    private static final tools.jackson.databind.json.JsonMapper JSON = OpenAiServer.JSON;

    private final String model;
    private final String apiKey;
    private final long created = System.currentTimeMillis() / 1000;
    private final RequestParser parser;
    private final CompletionWriter writer;
    private final ServerMetrics metrics;
    private final ObservabilityRoutes observability;
    private final long streamIntervalNanos;

    ApiRoutes(Generator generator, String model, String apiKey, RequestParser parser, CompletionWriter writer, ServerMetrics metrics,
              long streamIntervalNanos) {
        this.model = model;
        this.streamIntervalNanos = streamIntervalNanos;
        this.apiKey = apiKey;
        this.parser = parser;
        this.writer = writer;
        this.metrics = metrics;
        this.observability = new ObservabilityRoutes(generator, model, metrics, this::authorize);
    }

    /** Aggregates a request's body up to {@code maxBodyBytes}; a larger one is answered 413. One per connection. */
    ChannelHandler aggregator(int maxBodyBytes) {
        return new Aggregator(maxBodyBytes, metrics);
    }

    /** Answers each aggregated request. One per connection. */
    ChannelHandler handler() {
        return new Handler();
    }

    /** Netty's aggregator, but an oversized body gets OpenAI's 413 error body rather than a bare status. */
    private static final class Aggregator extends HttpObjectAggregator {
        private final int max;
        private final ServerMetrics metrics;

        Aggregator(int max, ServerMetrics metrics) {
            super(max);
            this.max = max;
            this.metrics = metrics;
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            if (oversized instanceof io.netty.handler.codec.http.HttpRequest r) metrics.request(path(r.uri()), 413);
            Exchange.tooLarge(ctx, oversized, max);
        }
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            var exchange = new Exchange(ctx.channel(), keepAlive, streamIntervalNanos);
            String path = path(req.uri());
            exchange.onStatus(status -> metrics.request(path, status));
            try {
                route(req, path, exchange);
            } catch (ApiError e) {
                exchange.error(e);
            } catch (RuntimeException e) {
                exchange.error(ApiError.translate(e));
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.log(System.Logger.Level.DEBUG, "HTTP connection failed", cause);
            ctx.close();
        }
    }

    /** The request's path, without its query or a trailing slash. */
    private static String path(String uri) {
        String path = uri;
        int q = path.indexOf('?');
        if (q >= 0) path = path.substring(0, q);
        if (path.length() > 1 && path.endsWith("/")) path = path.substring(0, path.length() - 1);
        return path;
    }

    private void route(FullHttpRequest req, String path, Exchange ex) {
        if (observability.handle(req, path, ex)) return;
        boolean known = path.equals("/v1/models") || path.startsWith("/v1/models/") || path.equals("/v1/completions")
                || path.equals("/v1/chat/completions");
        if (!known) {
            throw new ApiError(HttpResponseStatus.NOT_FOUND, "invalid_request_error", "no endpoint " + req.method() + " " + path,
                    null, "unknown_url");
        }
        authorize(req);
        if (path.startsWith("/v1/models")) {
            if (!req.method().equals(HttpMethod.GET)) throw ApiError.methodNotAllowed(req.method(), path);
            if (path.equals("/v1/models")) {
                ObjectNode list = JSON.createObjectNode();
                list.put("object", "list");
                list.putArray("data").add(modelObject());
                ex.json(HttpResponseStatus.OK, list);
            } else {
                String name = path.substring("/v1/models/".length());
                if (!name.equals(model)) throw ApiError.unknownModel(name, model);
                ex.json(HttpResponseStatus.OK, modelObject());
            }
            return;
        }
        if (!req.method().equals(HttpMethod.POST)) throw ApiError.methodNotAllowed(req.method(), path);
        RequestParser.Call call = parser.parse(req.content().toString(StandardCharsets.UTF_8), path.equals("/v1/chat/completions"));
        writer.submit(call, ex);
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
}

package dev.catena.openai;

import dev.catena.core.Generator;
import dev.catena.core.SwarmStatus;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The endpoints beside OpenAI's: {@code GET /health}, {@code GET /metrics}, {@code GET /v1/catena/status} (the
 * swarm's status as JSON) and the live page, {@code GET /} with its files under {@code /page/}, served from this
 * jar's resources ({@code dev/catena/openai/page/}).
 *
 * <p>With an API key set, {@code /v1/catena/status} needs it like every {@code /v1} endpoint; the page, its
 * files, {@code /health} and {@code /metrics} do not (the page holds no data: it asks for the key, keeps it in the
 * browser's local storage and sends it with its requests; health and metrics are for probes and scrapers, and
 * show counts, not prompts or text).
 */
final class ObservabilityRoutes {
    private static final String PAGE = "/dev/catena/openai/page/";
    private static final Map<String, String> FILES = Map.of("index.html", "text/html; charset=utf-8",
            "page.css", "text/css; charset=utf-8", "page.js", "text/javascript; charset=utf-8");
    /** The page's files, read from the jar once (a missing one fails the server's start, not a request). */
    private static final Map<String, byte[]> CONTENTS = FILES.keySet().stream()
            .collect(java.util.stream.Collectors.toUnmodifiableMap(f -> f, ObservabilityRoutes::resource));

    private final Generator generator;
    private final String name;
    private final ServerMetrics metrics;
    private final Consumer<FullHttpRequest> authorize;

    /**
     * @param name      the model as the API names it
     * @param authorize throws the 401 {@link ApiError} when a request lacks the API key
     */
    ObservabilityRoutes(Generator generator, String name, ServerMetrics metrics, Consumer<FullHttpRequest> authorize) {
        this.generator = generator;
        this.name = name;
        this.metrics = metrics;
        this.authorize = authorize;
    }

    /** Answers {@code req} when {@code path} is one of these endpoints; false when it is not. */
    boolean handle(FullHttpRequest req, String path, Exchange ex) {
        String file = path.equals("/") ? "index.html" : path.startsWith("/page/") ? path.substring("/page/".length()) : null;
        boolean ours = file != null || path.equals("/health") || path.equals("/metrics") || path.equals("/v1/catena/status");
        if (!ours) return false;
        if (!req.method().equals(HttpMethod.GET)) throw ApiError.methodNotAllowed(req.method(), path);
        if (file != null) {
            String type = FILES.get(file);
            if (type == null) {
                throw new ApiError(HttpResponseStatus.NOT_FOUND, "invalid_request_error", "no page file " + path, null, "unknown_url");
            }
            ex.send(response(HttpResponseStatus.OK, type, CONTENTS.get(file)));
        } else {
            if (path.equals("/v1/catena/status")) authorize.accept(req);
            // Off the event loop: a status may wait (once, at most ~1.5 s) for the first probe of the servers.
            Thread.ofVirtual().name("catena-http-status").start(() -> {
                try {
                    answer(path, ex);
                } catch (RuntimeException e) {
                    ex.error(ApiError.translate(e));
                }
            });
        }
        return true;
    }

    private void answer(String path, Exchange ex) {
        if (path.equals("/health")) {
            SwarmStatus s = generator.status();
            ex.json(s.covered() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, StatusJson.health(name, s));
        } else if (path.equals("/metrics")) {
            ex.send(response(HttpResponseStatus.OK, ServerMetrics.contentType(), metrics.scrape().getBytes(StandardCharsets.UTF_8)));
        } else {
            ex.json(HttpResponseStatus.OK, StatusJson.status(name, generator.status()));
        }
    }

    private static byte[] resource(String file) {
        try (InputStream in = ObservabilityRoutes.class.getResourceAsStream(PAGE + file)) {
            if (in == null) throw new IllegalStateException("the jar lacks the page file " + PAGE + file);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static FullHttpResponse response(HttpResponseStatus status, String type, byte[] body) {
        var r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        return r;
    }
}

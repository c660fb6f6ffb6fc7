package dev.catena.openai;

import dev.catena.core.ChatPrompt;
import dev.catena.core.Generator;
import dev.catena.core.TokenStream;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.concurrent.DefaultThreadFactory;
import tools.jackson.databind.json.JsonMapper;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * An OpenAI-compatible HTTP API over any {@link Generator}: {@code GET /v1/models}, {@code POST /v1/completions} and
 * {@code POST /v1/chat/completions}, with SSE streaming in OpenAI's chunk format; beside them {@code GET /health},
 * {@code GET /metrics}, {@code GET /v1/catena/status} and the live swarm page at {@code GET /} ({@link ObservabilityRoutes}).
 *
 * <p>Generation runs off Netty's event loop, on a pool of {@code maxConcurrent} threads; a request beyond that is
 * answered 429 with {@code Retry-After}. A client that disconnects mid-stream closes its {@link TokenStream}, which
 * closes its server sessions.
 *
 * <p>{@code logprobs} (up to 5 alternatives, from the model's raw logits) is answered without streaming only; with
 * {@code stream} it is answered 400, as are {@code n} &gt; 1, {@code echo} and tools. Chat messages are rendered by
 * {@link Generator#chatPrompt}: with the GGUF's {@code tokenizer.chat_template} through llama.cpp's
 * {@code llama_chat_apply_template}, or the documented fallback ({@link #renderChat}) for a model without one (or with
 * one llama.cpp does not recognise, which is logged as a warning, never an error).
 */
public final class OpenAiServer implements AutoCloseable {
    static final JsonMapper JSON = JsonMapper.builder().build();
    /** The stream interval a server has unless told otherwise ({@link Builder#streamInterval}), in milliseconds. */
    public static final int DEFAULT_STREAM_INTERVAL_MS = 5;

    private final String model;
    private final String host;
    private final int requestedPort;
    private final int maxBodyBytes;
    private final CompletionWriter writer;
    private final ApiRoutes routes;
    private EventLoopGroup group;
    private Channel channel;
    private volatile boolean closed;
    private boolean epoll;

    private OpenAiServer(Builder b) {
        this.model = b.model;
        this.host = b.host;
        this.requestedPort = b.port;
        this.maxBodyBytes = b.maxBodyBytes;
        this.writer = new CompletionWriter(b.generator, b.model, b.maxConcurrent);
        var metrics = new ServerMetrics(b.generator);
        writer.onGenerated(metrics::generated);
        writer.onCancelled(metrics::cancelled);
        this.routes = new ApiRoutes(b.generator, b.model, b.apiKey, new RequestParser(b.model, b.defaultChatMaxTokens, b.generator::chatPrompt),
                writer, metrics, b.streamInterval.toNanos());
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
        epoll = epollAvailable();
        group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("catena-http", false, Thread.MAX_PRIORITY),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        try {
            channel = new ServerBootstrap().group(group).channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), routes.aggregator(maxBodyBytes), routes.handler());
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

    /**
     * Whether Netty's native epoll transport loads here (Linux), unless {@code -Dcatena.netty.noNative=true} (the
     * property transport-netty honours too); else the server runs on NIO.
     */
    private static boolean epollAvailable() {
        if (Boolean.getBoolean("catena.netty.noNative")) return false;
        try {
            return Epoll.isAvailable();
        } catch (LinkageError absent) { // netty-transport-classes-epoll not on the path
            return false;
        }
    }

    /** {@code epoll} or {@code nio}: the transport the server runs on. */
    public synchronized String implementation() {
        if (channel == null) throw new IllegalStateException("not started");
        return epoll ? "epoll" : "nio";
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
        writer.close();
        if (group != null) group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /**
     * The fallback chat rendering ({@link ChatPrompt#fallbackText}), for OpenAI role names ({@code developer} is
     * {@code system}): one {@code "Role: content"} line per message ({@code System}, {@code User}, {@code Assistant}),
     * then {@code "Assistant:"} for the reply.
     */
    public static String renderChat(List<String[]> roleAndContent) {
        return ChatPrompt.fallbackText(roleAndContent.stream().map(m -> RequestParser.message(m[0], m[1])).toList());
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
        private java.time.Duration streamInterval = java.time.Duration.ofMillis(DEFAULT_STREAM_INTERVAL_MS);

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

        /**
         * How long a streamed token may wait to share its write with the tokens after it (default
         * {@value #DEFAULT_STREAM_INTERVAL_MS} ms; 0 writes each token as soon as it is computed). Once two tokens of a stream
         * come within the interval, they go out together once an interval; the first token, the last and any after a quiet
         * interval go out at once, and a stream slower than the interval is not held (unless a busy event loop writes two of
         * its tokens back to back). Each write costs the server's event
         * loop and the client a wake-up; on a small machine with a fast model, that CPU is taken from the generation.
         */
        public Builder streamInterval(java.time.Duration interval) {
            if (interval.isNegative() || interval.compareTo(java.time.Duration.ofSeconds(1)) > 0) {
                throw new IllegalArgumentException("the stream interval must be in [0, 1 s], got " + interval);
            }
            this.streamInterval = interval;
            return this;
        }

        /** A started server. */
        public OpenAiServer start() {
            return new OpenAiServer(this).start();
        }
    }
}
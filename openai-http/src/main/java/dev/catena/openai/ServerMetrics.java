package dev.catena.openai;

import dev.catena.core.Generation;
import dev.catena.core.Generator;
import dev.catena.core.SwarmStatus;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * The server's meters, in Prometheus' text format ({@code GET /metrics}) through Micrometer. Requests and tokens are
 * counted as they happen; the swarm's figures (failovers, pushes, sessions, KV, servers, coverage) are read from
 * {@link Generator#status()} when scraped, at most once a second.
 *
 * <p>Names as Prometheus shows them: {@code catena_http_requests_total{endpoint,status}}, {@code catena_tokens_in_total},
 * {@code catena_tokens_out_total} (both counting cancelled generations too, as far as they went),
 * {@code catena_generations_cancelled_total}, {@code catena_time_to_first_token_seconds} and {@code catena_token_latency_seconds}
 * (histograms), {@code catena_failovers_total}, {@code catena_pushes_used_total}, {@code catena_pushes_mismatched_total},
 * {@code catena_sessions_open}, {@code catena_kv_in_use_bytes}, {@code catena_servers_known},
 * {@code catena_servers_reachable} and {@code catena_blocks_uncovered}.
 */
final class ServerMetrics {
    /** The endpoints counted by name; anything else is counted as {@code other}, so labels stay few. */
    static final Set<String> ENDPOINTS = Set.of("/", "/health", "/metrics", "/v1/models", "/v1/completions", "/v1/chat/completions",
            "/v1/catena/status");

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Generator generator;
    private final Counter tokensIn;
    private final Counter tokensOut;
    private final Counter cancelled;
    private final Timer firstToken;
    private final Timer tokenLatency;
    /** The request counters by endpoint and status, so a request looks its counter up rather than building its id. */
    private final java.util.concurrent.ConcurrentMap<String, Counter> requests = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile SwarmStatus cached;
    private volatile long cachedAt;

    ServerMetrics(Generator generator) {
        this.generator = generator;
        tokensIn = Counter.builder("catena.tokens.in").description("Prompt tokens of generations, completed or cancelled").register(registry);
        tokensOut = Counter.builder("catena.tokens.out").description("Tokens generated, by completed and cancelled generations")
                .register(registry);
        cancelled = Counter.builder("catena.generations.cancelled").description("Generations whose client left before their end")
                .register(registry);
        firstToken = Timer.builder("catena.time.to.first.token").description("From a generation's start to its first token")
                .serviceLevelObjectives(ms(5), ms(10), ms(25), ms(50), ms(100), ms(250), ms(500), ms(1000), ms(2500), ms(5000), ms(10000))
                .register(registry);
        tokenLatency = Timer.builder("catena.token.latency").description("Wall time of each decode step after the first token")
                .serviceLevelObjectives(ms(1), ms(2), ms(5), ms(10), ms(25), ms(50), ms(100), ms(250), ms(500), ms(1000))
                .register(registry);
        swarmCounter("catena.failovers", "Servers failed over during generations", s -> s.counters().failovers());
        swarmCounter("catena.pushes.used", "Hop results computed on a pushed input", s -> s.counters().pushesUsed());
        swarmCounter("catena.pushes.mismatched", "Hop results computed on a push that differed from the client's copy",
                s -> s.counters().pushesMismatched());
        swarmGauge("catena.sessions.open", "Open generation sessions of this server's generator", null, s -> s.counters().openSessions());
        swarmGauge("catena.kv.in.use", "KV cache bytes reserved on the reachable servers (all clients)", "bytes",
                s -> s.counters().kvBytesInUse());
        swarmGauge("catena.client.turnaround.p50", "The generator's median turnaround per decode step: from the last result of a step"
                + " to the next step's first frame (its head and sampler included)", "seconds", s -> s.counters().turnaroundP50Millis() / 1e3);
        swarmGauge("catena.client.turnaround.p90", "The generator's 90th percentile turnaround per decode step", "seconds",
                s -> s.counters().turnaroundP90Millis() / 1e3);
        swarmGauge("catena.servers.known", "Servers the peer list or directory names", null, s -> s.servers().size());
        swarmGauge("catena.servers.reachable", "Servers that answered the last probe", null, SwarmStatus::reachableServers);
        swarmGauge("catena.blocks.uncovered", "Blocks no reachable server holds", null,
                s -> s.gaps().stream().mapToInt(g -> g.size()).sum());
    }

    private static Duration ms(long millis) {
        return Duration.ofMillis(millis);
    }

    private void swarmCounter(String name, String help, ToDoubleFunction<SwarmStatus> f) {
        FunctionCounter.builder(name, this, m -> f.applyAsDouble(m.status())).description(help).register(registry);
    }

    private void swarmGauge(String name, String help, String unit, ToDoubleFunction<SwarmStatus> f) {
        Gauge.builder(name, this, m -> f.applyAsDouble(m.status())).description(help).baseUnit(unit).register(registry);
    }

    /** The generator's status, read at most once a second (one scrape reads several meters). */
    SwarmStatus status() {
        long now = System.nanoTime();
        SwarmStatus s = cached;
        if (s == null || now - cachedAt > 1_000_000_000L) {
            s = generator.status();
            cached = s;
            cachedAt = now;
        }
        return s;
    }

    /** Counts a response by its endpoint (or {@code other}) and status code. */
    void request(String path, int status) {
        String endpoint = ENDPOINTS.contains(path) ? path : path.startsWith("/v1/models/") ? "/v1/models/{id}"
                : path.startsWith("/page/") ? "/page/{file}" : "other";
        requests.computeIfAbsent(endpoint + " " + status, k -> Counter.builder("catena.http.requests")
                .description("HTTP responses by endpoint and status").tag("endpoint", endpoint).tag("status", Integer.toString(status))
                .register(registry)).increment();
    }

    /** Counts a completed generation's tokens and records its time to first token and per-token latencies. */
    void generated(Generation g) {
        tokensIn.increment(g.promptTokens().size());
        tokensOut.increment(g.tokens().size());
        var stats = g.stats();
        firstToken.record(Duration.ofNanos((long) (stats.prefillSeconds() * 1e9)));
        for (double ms : stats.stepMillis()) tokenLatency.record(Duration.ofNanos((long) (ms * 1e6)));
    }

    /**
     * Counts a generation its client left before its end (a disconnect mid-stream): its prompt tokens and the tokens
     * computed for it go into the token counters as a completed one's do; it has no latencies to record.
     */
    void cancelled(int promptTokens, int generated) {
        tokensIn.increment(promptTokens);
        tokensOut.increment(generated);
        cancelled.increment();
    }

    /** Prometheus' text format (0.0.4). */
    String scrape() {
        return registry.scrape();
    }

    /** The content type of {@link #scrape()}. */
    static String contentType() {
        return "text/plain; version=0.0.4; charset=utf-8";
    }
}

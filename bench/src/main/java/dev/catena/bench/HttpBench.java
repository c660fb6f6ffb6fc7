package dev.catena.bench;

import dev.catena.core.Catena;
import dev.catena.core.CatenaClient;
import dev.catena.core.CatenaServer;
import dev.catena.core.GenerationRequest;
import dev.catena.core.LocalSwarm;
import dev.catena.core.Token;
import dev.catena.core.TokenStream;
import dev.catena.bench.HttpRounds.Ratio;
import dev.catena.bench.HttpRounds.Side;
import dev.catena.bench.HttpRounds.Timing;
import dev.catena.openai.OpenAiServer;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code ./catena bench http}: what the OpenAI-compatible HTTP layer costs. On one local swarm in this process, interleaved
 * rounds back to back (their order alternating) stream the same greedy generation through {@code client.stream} (what
 * {@code client.generate} drains) and through {@code POST /v1/completions} with {@code stream: true}, read as SSE on the
 * measuring thread through a plain socket ({@link SseSocketClient}; {@code --client jdk}: the JDK's HTTP client): tokens/s
 * and time to first token, per round and as ratios. Then {@code --connections} streaming requests (JDK HTTP client) are
 * held at once, with heap and RSS before, during (peak) and after, and the servers' open sessions.
 * Prints one JSON line; progress on stderr.
 */
@Command(name = "http", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"The HTTP layer's cost: tokens/s and time to first token streamed through /v1/completions (SSE, read "
                + "through a socket or the JDK HTTP client) against client.stream on the same local swarm, interleaved rounds; then N concurrent streaming "
                + "connections with heap and RSS before, during and after. Prints one JSON line; progress on stderr."})
public final class HttpBench implements Callable<Integer> {
    static final String PROMPT = "Once upon a time";
    /** The warm-up's pace: a pair of requests (two sessions on each server) every 80 ms, 25 sessions a second. */
    static final long WARMUP_PAIR_NANOS = 80_000_000;

    /** The JSON line, snake_case: {@code http} and {@code ratio} for the first interval, {@code more_intervals} for the others. */
    record Result(String model, int servers, int threads, int tokens, int warmup, int warmupRequests, int rounds, String client,
                  List<Double> streamIntervalMs, boolean sameText, Side inProcess, Side http, Ratio ratio, List<ByInterval> moreIntervals,
                  long jitMsDuringRounds, StreamsHeld.Concurrency concurrency, int processors, double loadAverage) {
    }

    /** The HTTP side and its ratio to in process, through a server with this stream interval. */
    record ByInterval(double streamIntervalMs, Side http, Ratio ratio) {
    }

    @ArgGroup(exclusive = true)
    ModelChoice which;

    @Option(names = "--servers", defaultValue = "2", description = "Servers of the local swarm (default ${DEFAULT-VALUE}).")
    int servers;

    @Option(names = "--threads", defaultValue = "1", description = "CPU threads per span and for the head (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--tokens", defaultValue = "64", description = "Tokens per measured generation (default ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--rounds", defaultValue = "10", description = "Measured rounds (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--warmup", defaultValue = "40", description = "Rounds run first and not counted, so both paths' per-token "
            + "code is compiled: with 3, C2 was still compiling it during the measured rounds (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--warmup-requests", defaultValue = "400", description = "Short requests (2 tokens) on each path before the "
            + "warm-up rounds, not counted: a serving process has compiled its per-request path (opening a route, HTTP decoding, "
            + "JSON, routing), which a few rounds leave interpreted (default ${DEFAULT-VALUE}).")
    int warmupRequests;

    @Option(names = "--connections", defaultValue = "64", description = "Concurrent streaming connections (default ${DEFAULT-VALUE}; 0 skips).")
    int connections;

    @Option(names = "--concurrent-tokens", defaultValue = "64", description = "Tokens each concurrent stream generates (default ${DEFAULT-VALUE}).")
    int concurrentTokens;

    /** How the rounds read the HTTP stream. */
    enum Client { socket, jdk }

    @Option(names = "--client", defaultValue = "socket", description = "How the measured rounds read the SSE stream: socket "
            + "(a blocking socket on the measuring thread, chunked decoding by hand: the server's cost alone) or jdk (the JDK's "
            + "HttpClient, whose selector and worker threads run in this process too); default ${DEFAULT-VALUE}.")
    Client clientKind;

    @Option(names = "--stream-interval-ms", split = ",", paramLabel = "MS[,MS...]", description = "The HTTP server's stream "
            + "interval (serve's --stream-interval-ms; default: the server's, " + OpenAiServer.DEFAULT_STREAM_INTERVAL_MS + "). Several: "
            + "one server each, on the same swarm, every round through each, the order rotating.")
    List<Double> streamIntervalMs;

    @Option(names = "--out", paramLabel = "DIR", description = "Also write the JSON line to DIR/http.json.")
    Path out;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (servers < 1 || threads < 1 || tokens < 1 || rounds < 1 || warmup < 0 || warmupRequests < 0 || connections < 0 || concurrentTokens < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--servers, --threads, --tokens, --rounds and --concurrent-tokens must be >= 1, --warmup, --warmup-requests and --connections >= 0");
        }
        List<Double> intervals = streamIntervalMs == null ? List.of((double) OpenAiServer.DEFAULT_STREAM_INTERVAL_MS) : streamIntervalMs;
        if (intervals.stream().anyMatch(ms -> !(ms >= 0 && ms <= 1000))) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--stream-interval-ms must be in [0, 1000], got " + intervals);
        }
        Path model = ModelChoice.resolve(which);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        List<OpenAiServer> httpServers = new ArrayList<>();
        List<SseSocketClient> sockets = new ArrayList<>();
        try (LocalSwarm swarm = Catena.localSwarm(model).servers(servers).threads(threads).start();
             CatenaClient client = swarm.clientBuilder().threads(threads).autoContext().build()) {
            try { // the HTTP servers close before the client they serve
                for (double ms : intervals) {
                    var server = OpenAiServer.builder(client).model("m").port(0).maxConcurrent(Math.max(4, connections))
                            .streamInterval(Duration.ofNanos(Math.round(ms * 1e6))).start();
                    httpServers.add(server);
                    sockets.add(new SseSocketClient(server.address()));
                }
                List<URI> completions = httpServers.stream().map(h -> URI.create("http://127.0.0.1:" + h.port() + "/v1/completions")).toList();
                GenerationRequest request = GenerationRequest.builder(PROMPT).maxTokens(tokens).greedy().ignoreEos().build();
                int paths = 1 + intervals.size(); // 0: in process; k: over HTTP through server k - 1
                List<List<Timing>> measured = new ArrayList<>();
                for (int k = 0; k < paths; k++) measured.add(new ArrayList<>());
                boolean sameText = true;
                GenerationRequest shortRequest = GenerationRequest.builder(PROMPT).maxTokens(2).greedy().ignoreEos().build();
                long paced = System.nanoTime();
                for (int r = 0; r < warmupRequests; r++) { // every path alike, so none runs its per-request code cold
                    inProcess(client, shortRequest);
                    for (int k = 1; k < paths; k++) overHttp(http, completions.get(k - 1), sockets.get(k - 1), 2);
                    // Each generation opens a session on every server: kept under a server's limit on one peer's session
                    // opens (a burst of 128, then 32 a second), past which it refuses them and the client fails over.
                    paced += WARMUP_PAIR_NANOS * paths / 2;
                    long wait = paced - System.nanoTime();
                    if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                // What the JIT compiled while the rounds ran (its threads' CPU is not in the per-token figures): a steady
                // process compiles little; a large figure says the warm-up was too short for what is measured.
                var jit = ManagementFactory.getCompilationMXBean();
                long jitBefore = jit.getTotalCompilationTime();
                try (var progress = BenchProgress.start("rounds", warmup + rounds)) {
                    for (int r = 0; r < warmup + rounds; r++) { // the warm-up rounds first; the order rotates
                        Timing[] t = new Timing[paths];
                        for (int i = 0; i < paths; i++) {
                            int k = (r + i) % paths;
                            t[k] = k == 0 ? inProcess(client, request) : overHttp(http, completions.get(k - 1), sockets.get(k - 1), tokens);
                        }
                        for (int k = 1; k < paths; k++) sameText &= t[0].text().equals(t[k].text()) && t[0].tokens() == t[k].tokens();
                        if (r == warmup - 1) jitBefore = jit.getTotalCompilationTime();
                        if (r >= warmup) for (int k = 0; k < paths; k++) measured.get(k).add(t[k]);
                        var line = new StringBuilder(String.format(Locale.ROOT, "round %d: in process %.1f t/s, ttft %.2f ms", r,
                                t[0].tokensPerSecond(), t[0].ttftMs()));
                        for (int k = 1; k < paths; k++) {
                            line.append(String.format(Locale.ROOT, " | http %s ms: %.1f t/s, ttft %.2f ms", intervals.get(k - 1),
                                    t[k].tokensPerSecond(), t[k].ttftMs()));
                        }
                        progress.step(line.toString());
                    }
                }
                long jitDuringRounds = jit.getTotalCompilationTime() - jitBefore;
                List<Timing> local = measured.getFirst();
                List<ByInterval> byInterval = new ArrayList<>();
                for (int k = 1; k < paths; k++) {
                    byInterval.add(new ByInterval(intervals.get(k - 1), HttpRounds.side(measured.get(k)), Ratio.of(local, measured.get(k))));
                }
                StreamsHeld.Concurrency concurrency = connections == 0 ? null
                        : StreamsHeld.concurrent(http, completions.getFirst(), swarm, connections, concurrentTokens);
                double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
                ByInterval first = byInterval.getFirst();
                String line = Report.json(new Result(model.getFileName().toString(), servers, threads, tokens, warmup, warmupRequests, rounds,
                        clientKind.name(), intervals, sameText, HttpRounds.side(local), first.http(), first.ratio(),
                        byInterval.subList(1, byInterval.size()), jitDuringRounds, concurrency, Runtime.getRuntime().availableProcessors(), load));
                spec.commandLine().getOut().println(line);
                spec.commandLine().getOut().flush();
                if (out != null) {
                    Files.createDirectories(out);
                    Files.writeString(out.resolve("http.json"), line + "\n");
                }
            } finally {
                for (SseSocketClient socket : sockets) {
                    try {
                        socket.close();
                    } catch (IOException ignored) { // closing: nothing left to read from it
                    }
                }
                for (OpenAiServer server : httpServers) server.close();
            }
        } finally {
            http.close();
        }
        return 0;
    }

    /** One generation pulled through {@code client.stream}: what {@code client.generate} does, token by token. */
    static Timing inProcess(CatenaClient client, GenerationRequest request) {
        Map<String, Long> c0 = HttpRounds.cpuByThread();
        long t0 = System.nanoTime();
        long first = 0;
        long last = 0;
        int n = 0;
        var text = new StringBuilder();
        try (TokenStream s = client.stream(request)) {
            for (Token t : s) {
                last = System.nanoTime();
                if (n++ == 0) first = last;
                text.append(t.text());
            }
        }
        long t1 = System.nanoTime();
        return HttpRounds.timing(n, t0, first, last, t1, c0, text);
    }

    static String body(int maxTokens) {
        return "{\"model\":\"m\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + maxTokens + ",\"temperature\":0,\"ignore_eos\":true,"
                + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
    }

    /** One generation over HTTP, read as {@code --client} says. */
    private Timing overHttp(HttpClient http, URI uri, SseSocketClient socket, int maxTokens) throws IOException, InterruptedException {
        return clientKind == Client.jdk ? overHttp(http, uri, maxTokens) : overSocket(socket, maxTokens);
    }

    /** One generation streamed through {@link SseSocketClient}, timed as {@link #overHttp}. */
    static Timing overSocket(SseSocketClient socket, int maxTokens) throws IOException {
        Map<String, Long> c0 = HttpRounds.cpuByThread();
        long t0 = System.nanoTime();
        var reader = new CompletionChunks();
        socket.post("/v1/completions", body(maxTokens), reader);
        long t1 = System.nanoTime();
        if (reader.tokens < 0) throw new IllegalStateException("the stream ended without its usage chunk");
        return HttpRounds.timing(reader.tokens, t0, reader.first, reader.last, t1, c0, reader.text);
    }

    /** One generation streamed over HTTP: time to the first text chunk, tokens as the final usage chunk counts them. */
    static Timing overHttp(HttpClient http, URI uri, int maxTokens) throws IOException, InterruptedException {
        var req = HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body(maxTokens))).build();
        Map<String, Long> c0 = HttpRounds.cpuByThread();
        long t0 = System.nanoTime();
        HttpResponse<Stream<String>> resp = http.send(req, HttpResponse.BodyHandlers.ofLines());
        var reader = new CompletionChunks();
        try (Stream<String> lines = resp.body()) {
            if (resp.statusCode() != 200) {
                throw new IllegalStateException("POST /v1/completions answered " + resp.statusCode() + ": " + String.join("\n", lines.toList()));
            }
            for (Iterator<String> it = lines.iterator(); it.hasNext() && !reader.done; ) {
                String line = it.next();
                if (line.startsWith("data: ")) reader.accept(line.substring(6));
            }
        }
        long t1 = System.nanoTime();
        if (reader.tokens < 0) throw new IllegalStateException("the stream ended without its usage chunk");
        return HttpRounds.timing(reader.tokens, t0, reader.first, reader.last, t1, c0, reader.text);
    }
}

package dev.catena.bench;

import dev.catena.core.Catena;
import dev.catena.core.CatenaClient;
import dev.catena.core.CatenaServer;
import dev.catena.core.GenerationRequest;
import dev.catena.core.LocalSwarm;
import dev.catena.core.Token;
import dev.catena.core.TokenStream;
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

    /**
     * One generation: its tokens, time to first token, tokens/s, CPU time per token of the process's threads (and per
     * group of threads: names with their digits left out), and its text.
     */
    record Timing(int tokens, double ttftMs, double tokensPerSecond, double cpuMsPerToken, Map<String, Double> cpuByThread, String text) {
    }

    /** The JSON line, snake_case. */
    record Result(String model, int servers, int threads, int tokens, int warmup, int warmupRequests, int rounds, String client, boolean sameText, Side inProcess, Side http,
                  Ratio ratio, long jitMsDuringRounds, StreamsHeld.Concurrency concurrency, int processors, double loadAverage) {
    }

    /** Medians and spread (min, max) over the measured rounds. */
    /** {@code cpuMsPerTokenByThread}: the mean over the rounds, per group of threads using at least 0.01 ms a token. */
    record Side(Spread tokensPerSecond, Spread ttftMs, Spread cpuMsPerToken, Map<String, Double> cpuMsPerTokenByThread) {
    }

    record Spread(double median, double min, double max) {
        static Spread of(double[] v) {
            return new Spread(ComputeBench.median(v), Arrays.stream(v).min().orElseThrow(), Arrays.stream(v).max().orElseThrow());
        }
    }

    /**
     * Per round: HTTP tokens/s over in-process tokens/s (target >= 0.97), HTTP's time to first token minus the
     * in-process one in ms (target <= 2), and HTTP's process CPU time per token over the in-process one (what the HTTP
     * layer costs in work, whatever else the machine runs). {@code throughputOfBests} and {@code ttftOverOfBestsMs}
     * compare each side at its best over the rounds (highest tokens/s, lowest time to first token): on a shared machine
     * a round is slowed by whatever else runs then, which the best rounds of both sides escaped alike.
     */
    record Ratio(Spread throughput, Spread ttftOverMs, Spread cpuPerToken, double throughputOfBests, double ttftOverOfBestsMs,
                 boolean throughputTargetMet, boolean ttftTargetMet) {
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
        Path model = ModelChoice.resolve(which);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        try (LocalSwarm swarm = Catena.localSwarm(model).servers(servers).threads(threads).start();
             CatenaClient client = swarm.clientBuilder().threads(threads).autoContext().build();
             OpenAiServer server = OpenAiServer.builder(client).model("m").port(0).maxConcurrent(Math.max(4, connections)).start();
             SseSocketClient socket = new SseSocketClient(server.address())) {
            URI completions = URI.create("http://127.0.0.1:" + server.port() + "/v1/completions");
            GenerationRequest request = GenerationRequest.builder(PROMPT).maxTokens(tokens).greedy().ignoreEos().build();
            List<Timing> local = new ArrayList<>();
            List<Timing> remote = new ArrayList<>();
            boolean sameText = true;
            GenerationRequest shortRequest = GenerationRequest.builder(PROMPT).maxTokens(2).greedy().ignoreEos().build();
            long paced = System.nanoTime();
            for (int r = 0; r < warmupRequests; r++) { // both paths alike, so neither side runs its per-request code cold
                inProcess(client, shortRequest);
                if (clientKind == Client.jdk) overHttp(http, completions, 2);
                else overSocket(socket, 2);
                // Each pair opens two sessions on every server: kept under a server's limit on one peer's session opens
                // (a burst of 128, then 32 a second), past which it refuses them and the client fails over.
                paced += WARMUP_PAIR_NANOS;
                long wait = paced - System.nanoTime();
                if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
            // What the JIT compiled while the rounds ran (its threads' CPU is not in the per-token figures): a steady
            // process compiles little; a large figure says the warm-up was too short for what is measured.
            var jit = ManagementFactory.getCompilationMXBean();
            long jitBefore = jit.getTotalCompilationTime();
            try (var progress = BenchProgress.start("rounds", warmup + rounds)) {
                for (int r = 0; r < warmup + rounds; r++) { // the warm-up rounds first; the order alternates
                    Timing a;
                    Timing b;
                    if (r % 2 == 0) {
                        a = inProcess(client, request);
                        b = clientKind == Client.jdk ? overHttp(http, completions, tokens) : overSocket(socket, tokens);
                    } else {
                        b = clientKind == Client.jdk ? overHttp(http, completions, tokens) : overSocket(socket, tokens);
                        a = inProcess(client, request);
                    }
                    sameText &= a.text().equals(b.text()) && a.tokens() == b.tokens();
                    if (r == warmup - 1) jitBefore = jit.getTotalCompilationTime();
                    if (r >= warmup) {
                        local.add(a);
                        remote.add(b);
                    }
                    progress.step(String.format(Locale.ROOT, "round %d: in process %.1f t/s, ttft %.2f ms | http %.1f t/s, ttft %.2f ms",
                            r, a.tokensPerSecond(), a.ttftMs(), b.tokensPerSecond(), b.ttftMs()));
                }
            }
            long jitDuringRounds = jit.getTotalCompilationTime() - jitBefore;
            double[] ratio = new double[rounds];
            double[] ttftOver = new double[rounds];
            double[] cpu = new double[rounds];
            for (int i = 0; i < rounds; i++) {
                ratio[i] = remote.get(i).tokensPerSecond() / local.get(i).tokensPerSecond();
                ttftOver[i] = remote.get(i).ttftMs() - local.get(i).ttftMs();
                cpu[i] = remote.get(i).cpuMsPerToken() / local.get(i).cpuMsPerToken();
            }
            Spread throughput = Spread.of(ratio);
            Spread over = Spread.of(ttftOver);
            StreamsHeld.Concurrency concurrency = connections == 0 ? null : StreamsHeld.concurrent(http, completions, swarm, connections, concurrentTokens);
            double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
            String line = Report.json(new Result(model.getFileName().toString(), servers, threads, tokens, warmup, warmupRequests, rounds, clientKind.name(), sameText,
                    side(local), side(remote), new Ratio(throughput, over, Spread.of(cpu),
                    Spread.of(tps(remote)).max() / Spread.of(tps(local)).max(), Spread.of(ttft(remote)).min() - Spread.of(ttft(local)).min(),
                    throughput.median() >= 0.97, over.median() <= 2.0), jitDuringRounds,
                    concurrency, Runtime.getRuntime().availableProcessors(), load));
            spec.commandLine().getOut().println(line);
            spec.commandLine().getOut().flush();
            if (out != null) {
                Files.createDirectories(out);
                Files.writeString(out.resolve("http.json"), line + "\n");
            }
        } finally {
            http.close();
        }
        return 0;
    }

    private static double[] tps(List<Timing> t) {
        return t.stream().mapToDouble(Timing::tokensPerSecond).toArray();
    }

    private static double[] ttft(List<Timing> t) {
        return t.stream().mapToDouble(Timing::ttftMs).toArray();
    }

    private static Side side(List<Timing> t) {
        Map<String, Double> byThread = new TreeMap<>();
        for (Timing x : t) x.cpuByThread().forEach((k, v) -> byThread.merge(k, v / t.size(), Double::sum));
        byThread.values().removeIf(v -> v < 0.01);
        byThread.replaceAll((k, v) -> Math.round(v * 1000) / 1000.0);
        return new Side(Spread.of(t.stream().mapToDouble(Timing::tokensPerSecond).toArray()),
                Spread.of(t.stream().mapToDouble(Timing::ttftMs).toArray()),
                Spread.of(t.stream().mapToDouble(Timing::cpuMsPerToken).toArray()), byThread);
    }

    /** One generation pulled through {@code client.stream}: what {@code client.generate} does, token by token. */
    static Timing inProcess(CatenaClient client, GenerationRequest request) {
        Map<String, Long> c0 = cpuByThread();
        long t0 = System.nanoTime();
        long first = 0;
        int n = 0;
        var text = new StringBuilder();
        try (TokenStream s = client.stream(request)) {
            for (Token t : s) {
                if (n++ == 0) first = System.nanoTime();
                text.append(t.text());
            }
        }
        long t1 = System.nanoTime();
        return timing(n, t0, first, t1, c0, text);
    }

    /**
     * CPU time of this process's live threads by group (swarm servers, client, HTTP server and HTTP client alike;
     * the native compute runs on them too), at nanosecond resolution; the JVM's own GC and JIT threads are not
     * counted.
     */
    static Map<String, Long> cpuByThread() {
        var threads = ManagementFactory.getThreadMXBean();
        Map<String, Long> byGroup = new HashMap<>();
        for (var info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info == null) continue; // ended meanwhile
            long cpu = threads.getThreadCpuTime(info.getThreadId());
            if (cpu > 0) byGroup.merge(info.getThreadName().replaceAll("[0-9]+", "N"), cpu, Long::sum);
        }
        return byGroup;
    }

    private static Timing timing(int n, long t0, long first, long t1, Map<String, Long> cpu0, CharSequence text) {
        Map<String, Double> perToken = new TreeMap<>();
        cpuByThread().forEach((k, v) -> perToken.put(k, (v - cpu0.getOrDefault(k, 0L)) / 1e6 / n));
        double cpu = perToken.values().stream().mapToDouble(Double::doubleValue).sum();
        return new Timing(n, (first - t0) / 1e6, n / ((t1 - t0) / 1e9), cpu, perToken, text.toString());
    }

    static String body(int maxTokens) {
        return "{\"model\":\"m\",\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + maxTokens + ",\"temperature\":0,\"ignore_eos\":true,"
                + "\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
    }

    /** One generation streamed through {@link SseSocketClient}, timed as {@link #overHttp}. */
    static Timing overSocket(SseSocketClient socket, int maxTokens) throws IOException {
        Map<String, Long> c0 = cpuByThread();
        long t0 = System.nanoTime();
        var reader = new CompletionChunks();
        socket.post("/v1/completions", body(maxTokens), reader);
        long t1 = System.nanoTime();
        if (reader.tokens < 0) throw new IllegalStateException("the stream ended without its usage chunk");
        return timing(reader.tokens, t0, reader.first, t1, c0, reader.text);
    }

    /** One generation streamed over HTTP: time to the first text chunk, tokens as the final usage chunk counts them. */
    static Timing overHttp(HttpClient http, URI uri, int maxTokens) throws IOException, InterruptedException {
        var req = HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body(maxTokens))).build();
        Map<String, Long> c0 = cpuByThread();
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
        return timing(reader.tokens, t0, reader.first, t1, c0, reader.text);
    }
}

package dev.catena.bench;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.client.Hop;
import dev.catena.core.client.RemoteSession;
import dev.catena.core.client.SwarmClient;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.core.server.SwarmServer;
import dev.catena.transport.proto.DType;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * {@code ./catena bench batch-server}: B clients generating at once through one server (TCP on
 * loopback) that batches their decode steps ({@code --max-batch}), against the same server without
 * batching, both loaded in one process, rounds interleaved and their order alternating. Aggregate
 * tokens/s and the decode steps' p50 latency per side. One JSON line.
 */
@Command(name = "batch-server", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"B concurrent clients through a batching server against a server without batching: aggregate tokens/s "
                + "and p50 step latency per B. Prints one JSON line; progress on stderr."})
public final class ServerBatchBench implements Callable<Integer> {
    private static final String[] PROMPTS = {"Once upon a time", "The little dog", "Lily wanted to", "One day, a big",
            "Tom and Sue went", "There was a", "The sun was", "A girl named Mia"};

    /** Medians of the rounds: aggregate tokens/s, the clients' p50 decode step, the server's compute per step (prefills included). */
    record Side(double tps, double p50StepMs, double computeMsPerStep) {
    }

    record Row(int sessions, Side batching, Side solo, double tpsRatio, double p50Ratio) {
    }

    record Result(String model, int threads, int baselineComputes, int maxBatch, long batchWaitMs, int tokens, int rounds, List<Row> rows,
                  double meanBatch, double loadAverage) {
    }

    @ArgGroup(exclusive = true)
    ModelChoice which;

    @Option(names = "--threads", defaultValue = "1", description = "The servers' compute threads (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--sessions", split = ",", defaultValue = "1,2,4,8,16", description = "Concurrent clients B (default ${DEFAULT-VALUE}).")
    int[] sessions;

    @Option(names = "--tokens", defaultValue = "32", description = "Tokens each client generates (default ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--rounds", defaultValue = "2", description = "Rounds per B and side (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--max-batch", defaultValue = "16", description = "The batching server's --max-batch (default ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--batch-wait-ms", defaultValue = "0", description = "Its --batch-wait-ms (default ${DEFAULT-VALUE}).")
    long batchWaitMs;

    @Option(names = "--baseline-computes", defaultValue = "1", description = {"Steps the server without batching computes at once, "
            + "each on --threads ggml threads (default ${DEFAULT-VALUE}: one at a time on all the threads, as the batching server "
            + "computes its batches; more oversubscribes the cores when --threads > 1)."})
    int baselineComputes;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (tokens < 2 || rounds < 1 || threads < 1 || maxBatch < 2 || batchWaitMs < 0 || baselineComputes < 1
                || Arrays.stream(sessions).anyMatch(b -> b < 1)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--tokens must be >= 2, --max-batch >= 2, --batch-wait-ms >= 0, "
                    + "--rounds, --threads, --baseline-computes and --sessions >= 1");
        }
        Path model = ModelChoice.resolve(which);
        SpanBackend backend = Catena.spanBackend("ffm");
        var info = backend.inspect(model);
        String id = model.getFileName().toString();
        int maxLength = 64 + tokens;
        List<Row> rows = new ArrayList<>();
        double meanBatch;
        var netty = Catena.transport("netty");
        try (Transport st = netty.create(TransportConfig.defaults()); Transport ct = netty.create(TransportConfig.defaults());
             ModelHead head = backend.openHead(model, SpanOptions.cpu(1));
             SwarmServer solo = start(model, id, info.nLayer(), backend, st, SwarmServer.Batching.OFF, baselineComputes);
             SwarmServer batching = start(model, id, info.nLayer(), backend, st,
                     new SwarmServer.Batching(maxBatch, Duration.ofMillis(batchWaitMs)), 1);
             SwarmClient client = new SwarmClient(ct, Duration.ofSeconds(300));
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
             var progress = BenchProgress.start("rounds", sessions.length * (rounds + 1) * 2)) {
            for (int b : sessions) {
                List<double[]> on = new ArrayList<>(), off = new ArrayList<>();
                for (int r = 0; r <= rounds; r++) { // round 0 warms up both
                    for (boolean batched : r % 2 == 0 ? new boolean[]{true, false} : new boolean[]{false, true}) {
                        SwarmServer server = batched ? batching : solo;
                        double[] m = round(client, head, server, id, info.nEmbd(), b, maxLength, pool);
                        if (r > 0) (batched ? on : off).add(m);
                        progress.step(String.format(Locale.ROOT, "B=%d round %d %s: %.1f t/s, p50 step %.2f ms, compute %.2f ms/step", b, r,
                                batched ? "batching" : "solo", m[0], m[1], m[2]));
                    }
                }
                Side sOn = side(on), sOff = side(off);
                rows.add(new Row(b, sOn, sOff, sOn.tps() / sOff.tps(), sOn.p50StepMs() / sOff.p50StepMs()));
            }
            var c = batching.counters();
            meanBatch = c.batches.get() == 0 ? 0 : (double) c.batchedSteps.get() / c.batches.get();
        }
        spec.commandLine().getOut().println(Report.json(new Result(id, threads, baselineComputes, maxBatch, batchWaitMs, tokens, rounds, rows, meanBatch,
                ComputeBench.loadAverage())));
        spec.commandLine().getOut().flush();
        return 0;
    }

    /** {@code computes}: steps the server runs at once without batching (a batching server runs one batch at a time). */
    private SwarmServer start(Path model, String id, int nLayer, SpanBackend backend, Transport st, SwarmServer.Batching batching,
                              int computes) {
        return SwarmServer.start(new SwarmServer.Config(model, id, new BlockRange(0, nLayer), SpanOptions.cpu(threads), "127.0.0.1:0",
                4L << 30, Duration.ofMinutes(5), computes).withBatching(batching), backend, st);
    }

    /** B clients at once, each generating {@code tokens} greedy tokens: {aggregate tokens/s, p50 decode step ms, server compute ms per step}. */
    private double[] round(SwarmClient client, ModelHead head, SwarmServer server, String id, int nEmbd, int b, int maxLength,
                           ExecutorService pool) throws Exception {
        List<Hop> route = List.of(new Hop(server.address(), server.blocks()));
        List<Double> steps = Collections.synchronizedList(new ArrayList<>());
        List<CompletableFuture<Void>> clients = new ArrayList<>();
        long compute0 = server.counters().computeNanos.get(), steps0 = server.counters().steps.get();
        long t0 = System.nanoTime();
        for (int s = 0; s < b; s++) {
            String prompt = PROMPTS[s % PROMPTS.length];
            clients.add(CompletableFuture.runAsync(() -> {
                try (var session = RemoteSession.open(client, id, nEmbd, route, RemoteSession.Mode.PUSH, maxLength, DType.F32,
                        Duration.ofSeconds(300))) {
                    GenerationLoop.Chain timed = (hidden, n, position) -> {
                        long s0 = System.nanoTime();
                        float[] out = session.step(hidden, n, position);
                        if (n == 1) steps.add((System.nanoTime() - s0) / 1e6);
                        return out;
                    };
                    GenerationLoop.generate(head, timed, prompt, tokens, SamplingParams.greedyDecoding(), maxLength, false, false, t -> { });
                }
            }, pool));
        }
        for (var c : clients) c.get();
        double seconds = (System.nanoTime() - t0) / 1e9;
        double[] sorted = steps.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double computeMs = (server.counters().computeNanos.get() - compute0) / 1e6 / Math.max(1, server.counters().steps.get() - steps0);
        return new double[]{(double) b * tokens / seconds, sorted[sorted.length / 2], computeMs};
    }

    private static Side side(List<double[]> rounds) {
        double[] tps = rounds.stream().mapToDouble(m -> m[0]).sorted().toArray();
        double[] p50 = rounds.stream().mapToDouble(m -> m[1]).sorted().toArray();
        double[] compute = rounds.stream().mapToDouble(m -> m[2]).toArray();
        return new Side(ComputeBench.median(tps), ComputeBench.median(p50), ComputeBench.median(compute));
    }

}

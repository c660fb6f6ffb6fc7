package dev.catena.bench;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.client.Hop;
import dev.catena.core.client.RemoteSession;
import dev.catena.core.client.SwarmClient;
import dev.catena.core.server.SwarmServer;
import dev.catena.ffm.FfmSpanBackend;
import dev.catena.ffm.llama.LlamaModel;
import dev.catena.ffm.llama.LlamaSequences;
import dev.catena.ffm.llama.OracleOptions;
import dev.catena.ffm.llama.WeightLoading;
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
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * {@code ./catena bench batch-swarm}: how a swarm's aggregate decode throughput scales with concurrent
 * clients (issue 15): C clients at once through a swarm of batching servers (blocks split evenly, push
 * mode, TCP on loopback, one process) against one client, and the same ratio for llama.cpp's batched
 * decode of C sequences against one (weights in memory, kv_unified off). The clients send the
 * embeddings of seeded tokens and run no LM head (in a swarm each client's head runs on its own
 * machine; here it would take the servers' cores); llama.cpp computes each row's logits, as its
 * decode does. One JSON line.
 */
@Command(name = "batch-swarm", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Aggregate decode tokens/s of C concurrent clients over 1 client through a swarm of batching servers, "
                + "against the same ratio for llama.cpp's batched decode. Prints one JSON line; progress on stderr."})
public final class SwarmBatchBench implements Callable<Integer> {

    /** Aggregate decode tokens/s with one client (sequence) and with C, and their ratio; medians of the rounds. */
    record Scaling(double oneTps, double manyTps, double ratio) {
    }

    record Result(String model, int servers, int threads, int clients, int maxBatch, long batchWaitMs, String cpuVariant, int promptTokens,
                  int decodeTokens, int rounds, Scaling catena, Scaling llamaCpp, double ratioOfRatios, double meanBatch,
                  double loadAverage) {
    }

    @ArgGroup(exclusive = true)
    ModelChoice which;

    @Option(names = "--servers", defaultValue = "3", description = "Servers in the swarm, blocks split evenly (default ${DEFAULT-VALUE}).")
    int servers;

    @Option(names = "--threads", defaultValue = "1", description = "Each server's ggml threads, and llama.cpp's (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--clients", defaultValue = "8", description = "Concurrent clients C, against 1 (default ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--max-batch", defaultValue = "16", description = "The servers' --max-batch (default ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--batch-wait-ms", defaultValue = "0", description = "The servers' --batch-wait-ms (default ${DEFAULT-VALUE}).")
    long batchWaitMs;

    @Option(names = "--prompt", defaultValue = "16", description = "Prompt tokens per client, prefilled first, not timed (default ${DEFAULT-VALUE}).")
    int prompt;

    @Option(names = "--decode", defaultValue = "32", description = "Decode steps timed per client and round (default ${DEFAULT-VALUE}).")
    int decode;

    @Option(names = "--rounds", defaultValue = "2", description = "Measured rounds per side after one warm-up (default ${DEFAULT-VALUE}).")
    int rounds;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (servers < 1 || threads < 1 || clients < 2 || maxBatch < 2 || batchWaitMs < 0 || prompt < 1 || decode < 1 || rounds < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--clients and --max-batch must be >= 2, --batch-wait-ms >= 0; "
                    + "--servers, --threads, --prompt, --decode and --rounds >= 1");
        }
        Path model = ModelChoice.resolve(which);
        var backend = FfmSpanBackend.instance();
        var info = backend.inspect(model);
        if (servers > info.nLayer()) throw new IllegalArgumentException(servers + " servers for " + info.nLayer() + " blocks");
        String id = model.getFileName().toString();
        int ctx = prompt + decode + 1;
        List<double[]> catena = new ArrayList<>(), llama = new ArrayList<>(); // {one, many} per round
        double meanBatch;
        var netty = Catena.transport("netty");
        List<SwarmServer> swarm = new ArrayList<>();
        try (Transport st = netty.create(TransportConfig.defaults()); Transport ct = netty.create(TransportConfig.defaults());
             ModelHead head = backend.openHead(model, SpanOptions.cpu(1));
             SwarmClient client = new SwarmClient(ct, Duration.ofSeconds(300));
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
             LlamaModel llamaModel = LlamaModel.load(model, threads, "cpu", WeightLoading.IN_MEMORY);
             var progress = BenchProgress.start("rounds", (rounds + 1) * 4)) {
            for (BlockRange r : BlockRange.even(info.nLayer(), servers)) {
                swarm.add(SwarmServer.start(new SwarmServer.Config(model, id, r, SpanOptions.cpu(threads), "127.0.0.1:0", 4L << 30,
                        Duration.ofMinutes(5), 1).withBatching(new SwarmServer.Batching(maxBatch, Duration.ofMillis(batchWaitMs))), backend, st));
            }
            List<Hop> route = swarm.stream().map(s -> new Hop(s.address(), s.blocks())).toList();
            OracleOptions options = new OracleOptions(ctx, threads, null, null, 0, 0, "cpu", WeightLoading.IN_MEMORY);
            try (LlamaSequences one = LlamaSequences.open(llamaModel, options, 1);
                 LlamaSequences many = LlamaSequences.open(llamaModel, options, clients)) {
                for (int r = 0; r <= rounds; r++) { // round 0 warms up both
                    int[][] tokens = BatchBench.tokens(clients, prompt + decode, head.nVocab(), new Random(r));
                    int[][] first = {tokens[0]};
                    double[] c = new double[2], l = new double[2];
                    // The order alternates by round, so that neither side always runs on the other's leftovers.
                    for (boolean swarmFirst : r % 2 == 0 ? new boolean[]{true, false} : new boolean[]{false, true}) {
                        if (swarmFirst) {
                            c[0] = runSwarm(client, head, route, id, info.nEmbd(), first, ctx, pool);
                            c[1] = runSwarm(client, head, route, id, info.nEmbd(), tokens, ctx, pool);
                        } else {
                            l[0] = BatchBench.runLlama(one, first, prompt, decode);
                            l[1] = BatchBench.runLlama(many, tokens, prompt, decode);
                        }
                    }
                    if (r > 0) {
                        catena.add(c);
                        llama.add(l);
                    }
                    progress.step(String.format(Locale.ROOT, "round %d: swarm %.1f -> %.1f t/s (x%.2f) | llama.cpp %.1f -> %.1f t/s (x%.2f)",
                            r, c[0], c[1], c[1] / c[0], l[0], l[1], l[1] / l[0]));
                }
            }
            long batches = swarm.stream().mapToLong(s -> s.counters().batches.get()).sum();
            long steps = swarm.stream().mapToLong(s -> s.counters().batchedSteps.get()).sum();
            meanBatch = batches == 0 ? 0 : (double) steps / batches;
        } finally {
            swarm.forEach(SwarmServer::close);
        }
        Scaling sc = scaling(catena), sl = scaling(llama);
        spec.commandLine().getOut().println(Report.json(new Result(id, servers, threads, clients, maxBatch, batchWaitMs, ComputeBench.cpuVariant(),
                prompt, decode, rounds, sc, sl, sc.ratio() / sl.ratio(), meanBatch, ComputeBench.loadAverage())));
        spec.commandLine().getOut().flush();
        return 0;
    }

    /**
     * One client per row of {@code tokens} at once through the route: each prefills its prompt, then all
     * decode together from a barrier; their aggregate decode tokens/s.
     */
    private double runSwarm(SwarmClient client, ModelHead head, List<Hop> route, String id, int nEmbd, int[][] tokens, int ctx,
                            ExecutorService pool) throws Exception {
        int c = tokens.length;
        var start = new CyclicBarrier(c + 1);
        List<CompletableFuture<Void>> runs = new ArrayList<>();
        for (int[] t : tokens) {
            float[] embedded = head.embed(t); // before the clock: the clients' own work is not the swarm's
            runs.add(CompletableFuture.runAsync(() -> {
                try (var session = RemoteSession.open(client, id, nEmbd, route, RemoteSession.Mode.PUSH, ctx, DType.F32,
                        Duration.ofSeconds(300))) {
                    session.step(Arrays.copyOf(embedded, prompt * nEmbd), prompt, 0);
                    start.await();
                    for (int i = prompt; i < prompt + decode; i++) {
                        session.step(Arrays.copyOfRange(embedded, i * nEmbd, (i + 1) * nEmbd), 1, i);
                    }
                } catch (Exception e) {
                    start.reset(); // a failed client does not leave the others at the barrier
                    throw new IllegalStateException(e);
                }
            }, pool));
        }
        start.await();
        long t0 = System.nanoTime();
        for (var run : runs) run.get();
        return (double) c * decode / ((System.nanoTime() - t0) / 1e9);
    }

    private static Scaling scaling(List<double[]> rounds) {
        double one = ComputeBench.median(rounds.stream().mapToDouble(m -> m[0]).toArray());
        double many = ComputeBench.median(rounds.stream().mapToDouble(m -> m[1]).toArray());
        return new Scaling(one, many, many / one);
    }
}

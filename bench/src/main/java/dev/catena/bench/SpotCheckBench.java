package dev.catena.bench;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.ServerRecord;
import dev.catena.api.spi.SpanBackend;
import dev.catena.core.Catena;
import dev.catena.core.Identity;
import dev.catena.core.client.FaultTolerantSession;
import dev.catena.core.client.RemoteSession;
import dev.catena.core.client.SessionSpec;
import dev.catena.core.client.SwarmClient;
import dev.catena.core.directory.InMemoryDirectory;
import dev.catena.testing.PassThroughSpans;
import dev.catena.transport.proto.DType;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import picocli.CommandLine;
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
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * What spot checks cost the critical path (issue 14's "spot checks at 1 %: no change in p50"): a swarm of K spans,
 * each served by R replicas (so a check has another server to replay on), all in this JVM on loopback (Netty), a
 * directory that lists them all, and generations through {@link FaultTolerantSession} at each spot-check fraction in
 * turn, the order rotated every round so that load drifts hit every fraction alike. Each generation feeds random
 * hidden states one token a step (no head: the checks compare hidden states) and times every step after warm-up.
 *
 * <pre>
 * ./catena bench spot-checks [--pass-through 4096 | --model GGUF] [--servers 2] [--replicas 2] [--fractions 0,0.01]
 *     [--tokens 400] [--warmup 20] [--rounds 3] [--mode push|relay] [--compute-ms 0] [--threads 1] [--seed 7]
 * </pre>
 */
@Command(name = "spot-checks", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Per-token latency with spot checks at each fraction, rounds alternating back to back: a swarm of spans "
                + "with replicas on loopback. Prints a Markdown row per generation, then each fraction's median p50 and its ratio "
                + "to the first fraction's, and the extra step time per check."})
public final class SpotCheckBench implements Callable<Integer> {

    @Option(names = "--pass-through", defaultValue = "4096", paramLabel = "HIDDEN",
            description = "Spans that compute nothing at this hidden size, f32 on the wire (default ${DEFAULT-VALUE}).")
    int passThrough;

    @Option(names = "--compute-ms", defaultValue = "0", description = "With pass-through: each forward sleeps this long, a "
            + "replay too (default ${DEFAULT-VALUE}).")
    double computeMs;

    @Option(names = "--model", paramLabel = "GGUF", description = "A real model instead of pass-through spans.")
    Path model;

    @Option(names = "--servers", defaultValue = "2", description = "Spans along the route (default ${DEFAULT-VALUE}).")
    int spans;

    @Option(names = "--replicas", defaultValue = "2", description = "Servers per span (default ${DEFAULT-VALUE}).")
    int replicas;

    @Option(names = "--fractions", defaultValue = "0,0.01", split = ",", paramLabel = "F,...",
            description = "Spot-check fractions to compare; the first is the baseline (default ${DEFAULT-VALUE}).")
    List<Double> fractions;

    @Option(names = "--tokens", defaultValue = "400", description = "Measured steps per generation (default ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--warmup", defaultValue = "20", description = "Warm-up steps per generation (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--rounds", defaultValue = "3", description = "Rounds; each runs every fraction once (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--mode", defaultValue = "push", description = "push or relay (default ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--threads", defaultValue = "1", description = "CPU threads per server (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--seed", defaultValue = "7", description = "Seeds the hidden states and which steps are checked (default ${DEFAULT-VALUE}).")
    long seed;

    @Spec
    CommandSpec spec;

    /** One generation: its fraction, round, sorted step times (ms) and how many checks it started. */
    record Run(double fraction, int round, double[] sortedMillis, double sumMillis, long checks, long disagreements, int failovers) {
        double p50() {
            return SwarmLatencyBench.percentile(sortedMillis, 0.5);
        }

        double p90() {
            return SwarmLatencyBench.percentile(sortedMillis, 0.9);
        }
    }

    @Override
    public Integer call() throws Exception {
        var cl = spec.commandLine();
        if (tokens < 1 || warmup < 0 || rounds < 1 || threads < 1 || spans < 1 || replicas < 1 || passThrough < 1 || computeMs < 0) {
            throw new CommandLine.ParameterException(cl, "--tokens, --rounds, --threads, --servers, --replicas and --pass-through must be"
                    + " >= 1; --warmup and --compute-ms >= 0");
        }
        if (fractions.isEmpty() || fractions.stream().anyMatch(f -> !(f >= 0 && f <= 1))) {
            throw new CommandLine.ParameterException(cl, "--fractions: each in [0, 1], got " + fractions);
        }
        var chainMode = switch (mode.toLowerCase(Locale.ROOT)) {
            case "push" -> RemoteSession.Mode.PUSH;
            case "relay" -> RemoteSession.Mode.RELAY;
            default -> throw new CommandLine.ParameterException(cl, "--mode: push or relay, not '" + mode + "'");
        };
        SpanBackend backend = model != null ? Catena.spanBackend("ffm")
                : new PassThroughSpans(16, passThrough).computing(Duration.ofNanos((long) (computeMs * 1e6)));
        Path path = model != null ? model : Path.of("pass-through-" + passThrough);
        var info = backend.inspect(path);
        if (spans > info.nLayer()) throw new CommandLine.ParameterException(cl, spans + " spans for " + info.nLayer() + " blocks");
        String id = path.getFileName().toString();
        var out = cl.getOut();
        List<BenchServer> servers = new ArrayList<>();
        var directory = new InMemoryDirectory();
        List<Run> runs = new ArrayList<>();
        try (Transport transport = Catena.transport("netty").create(TransportConfig.defaults())) {
            for (BlockRange r : BlockRange.even(info.nLayer(), spans)) {
                for (int i = 0; i < replicas; i++) {
                    var s = BenchServer.inProcess(path, id, r, threads, backend, transport, Identity.generate());
                    servers.add(s);
                    directory.announce(ServerRecord.online(s.address(), id, s.blocks()));
                }
            }
            out.printf("%d spans x %d replicas, %s, n_embd %d, %s, %d + %d steps a generation%n%n", spans, replicas,
                    model != null ? id : "pass-through" + (computeMs > 0 ? " computing " + computeMs + " ms" : ""), info.nEmbd(),
                    mode, warmup, tokens);
            out.println("| round | fraction | p50 ms | p90 ms | mean ms | checks | disagreements | failovers |");
            out.println("|---|---|---|---|---|---|---|---|");
            // The client on a transport of its own, as in bench swarm: its event loops are not the servers'.
            try (Transport clientTransport = Catena.transport("netty").create(TransportConfig.defaults());
                 var client = new SwarmClient(clientTransport, Duration.ofSeconds(120))) {
                var sessionSpec = new SessionSpec(id, info.nLayer(), info.nEmbd(), warmup + tokens + 8, DType.F32);
                // One generation not reported, at the largest fraction: the JIT warms the step and the check paths alike.
                double most = fractions.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
                client.spotChecks(most, seed - 1);
                generate(client, directory, sessionSpec, chainMode, most, -1);
                for (int round = 0; round < rounds; round++) {
                    for (int j = 0; j < fractions.size(); j++) {
                        double f = fractions.get((j + round) % fractions.size()); // rotated: each fraction goes first in turn
                        client.spotChecks(f, seed + round);
                        Run run = generate(client, directory, sessionSpec, chainMode, f, round);
                        runs.add(run);
                        out.printf(Locale.ROOT, "| %d | %s | %.3f | %.3f | %.3f | %d | %d | %d |%n", round + 1, f, run.p50(), run.p90(),
                                run.sumMillis() / tokens, run.checks(), run.disagreements(), run.failovers());
                        out.flush();
                    }
                }
            }
            // Stale pushes (after the client's copy was computed on) whose trailing signature a server waited for.
            long dropped = servers.stream().mapToLong(sv -> sv.counters().getOrDefault("pushes_dropped", 0L)).sum();
            long unsigned = servers.stream().mapToLong(sv -> sv.counters().getOrDefault("pushes_bad_signature", 0L)).sum();
            out.printf("%nservers: %d pushes dropped as stale, of them %d counted unsigned (each waited up to 1 s for a signature)%n",
                    dropped, unsigned);
        } finally {
            servers.forEach(BenchServer::close);
        }
        summarize(runs);
        return 0;
    }

    /** One generation at fraction {@code f}; closing the session waits for its check in progress, outside the timing. */
    private Run generate(SwarmClient client, InMemoryDirectory directory, SessionSpec spec, RemoteSession.Mode chainMode, double f,
                         int round) {
        var counters = client.counters();
        long checks0 = counters.spotChecks.get();
        long disagreements0 = counters.spotCheckDisagreements.get();
        var random = new SplittableRandom(seed * 31 + round);
        double[] millis = new double[tokens];
        int failovers;
        try (var session = new FaultTolerantSession(client, directory, spec, chainMode,
                FaultTolerantSession.Policy.defaults(Duration.ofSeconds(40)))) {
            float[] hidden = new float[spec.nEmbd()];
            for (int p = 0; p < warmup + tokens; p++) {
                for (int i = 0; i < hidden.length; i++) hidden[i] = (float) random.nextGaussian();
                long t0 = System.nanoTime();
                session.forwardLast(hidden, 1, p);
                if (p >= warmup) millis[p - warmup] = (System.nanoTime() - t0) / 1e6;
            }
            failovers = session.failovers().size(); // a failed server's recovery is in the step times: shown, not hidden
        }
        double sum = Arrays.stream(millis).sum();
        Arrays.sort(millis);
        return new Run(f, round, millis, sum, counters.spotChecks.get() - checks0, counters.spotCheckDisagreements.get() - disagreements0, failovers);
    }

    /**
     * Per fraction: the median over rounds of p50 and its ratio to the baseline's (the first fraction), in how many
     * rounds its p50 was above the baseline's, and the extra step time per check: (sum of step times at f - at the
     * baseline, same round) / checks at f, over all rounds (a difference of totals: noisy on a loaded machine).
     */
    private void summarize(List<Run> runs) {
        var out = spec.commandLine().getOut();
        double base = fractions.getFirst();
        double baseP50 = ComputeBench.median(runs.stream().filter(r -> r.fraction() == base).mapToDouble(Run::p50).toArray());
        out.println();
        out.println("| fraction | median p50 ms | p50 / baseline | rounds with p50 above the baseline's | median p90 ms | checks"
                + " | extra step time per check, ms |");
        out.println("|---|---|---|---|---|---|---|");
        for (double f : fractions.stream().distinct().toList()) {
            List<Run> at = runs.stream().filter(r -> r.fraction() == f).toList();
            double p50 = ComputeBench.median(at.stream().mapToDouble(Run::p50).toArray());
            long checks = at.stream().mapToLong(Run::checks).sum();
            double extra = 0;
            int above = 0;
            for (Run r : at) {
                Run b = runs.stream().filter(x -> x.round() == r.round() && x.fraction() == base).findFirst().orElse(r);
                extra += r.sumMillis() - b.sumMillis();
                if (r.p50() > b.p50()) above++;
            }
            out.printf(Locale.ROOT, "| %s | %.3f | %.3f | %s | %.3f | %d | %s |%n", f, p50, p50 / baseP50,
                    f == base ? "-" : above + " of " + at.size(), ComputeBench.median(at.stream().mapToDouble(Run::p90).toArray()), checks,
                    f == base || checks == 0 ? "-" : String.format(Locale.ROOT, "%.2f", extra / checks));
        }
        out.flush();
    }
}

package dev.catena.bench;

import dev.catena.testing.PassThroughSpans;
import dev.catena.api.BlockRange;
import dev.catena.api.spi.SpanBackend;
import dev.catena.core.Catena;
import dev.catena.core.Identity;
import dev.catena.transport.spi.TlsConfig;
import dev.catena.core.client.RemoteSession;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Per-token decode latency of a swarm against PROTOCOL.md's latency model, over emulated links:
 * K servers and a client on loopback (Netty), every (source, destination) pair through its own
 * user-space proxy with a set one-way delay (direct links when there is no delay). For each run it
 * reports p50/p90 of the chain's step time over the decode steps after warm-up, the formula
 * evaluated with the servers' measured compute time (the physical limit), and the ratio.
 *
 * <pre>
 * ./catena bench swarm [--model GGUF | --preset llama32-1b-q8_0 | --pass-through HIDDEN] [--scenario far|uniform|lan|all]
 *     [--servers K,...] [--client-ms X --peer-ms Y] [--tokens 64] [--warmup 8] [--threads 1] [--out DIR]
 * </pre>
 * Scenarios (issue 6): far = client links 40 ms one-way, server links 2 ms, K = 3 and 4; uniform =
 * every link 20 ms; lan = no added delay. {@code --pass-through HIDDEN} runs spans that compute
 * nothing at that hidden size, to measure what a hop itself costs. {@code --out} writes
 * {@code swarm.json}, {@code swarm.md} and {@code swarm.png}. Each row also has the servers' and the
 * client's turnaround counters (issue 17); {@code --processes} runs every server in its own JVM
 * ({@link ServerProcess}), {@code --ab OPTS} each such run again with more JVM options for the servers.
 */
@Command(name = "swarm", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Per-token decode latency of a swarm on loopback against PROTOCOL.md's latency model, every link "
                + "through its own user-space proxy with a set one-way delay. Prints a Markdown row per run (relay and push).",
                "Scenarios: far = client links 40 ms one-way, server links 2 ms, K = 3 and 4; uniform = every link 20 ms; "
                + "lan = no added delay (direct links)."})
public final class SwarmLatencyBench implements Callable<Integer> {

    enum ScenarioName { far, uniform, lan, all }

    static final class Spans {
        @Option(names = "--model", paramLabel = "GGUF", description = "Model file (default: the demo model, models/stories260K.gguf).")
        Path model;

        @Option(names = "--preset", paramLabel = "NAME", completionCandidates = ModelChoice.PresetNames.class,
                description = "A generated model: ${COMPLETION-CANDIDATES}.")
        String preset;

        @Option(names = "--pass-through", paramLabel = "HIDDEN",
                description = "Spans that compute nothing at this hidden size: what a hop itself costs.")
        Integer passThrough;
    }

    @ArgGroup(exclusive = true)
    Spans spans;

    @Option(names = "--scenario", defaultValue = "far", description = "${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
    ScenarioName scenario;

    @Option(names = "--servers", paramLabel = "K,...", split = ",", description = "Server counts (default: the scenario's).")
    List<Integer> serverCounts;

    @Option(names = "--client-ms", paramLabel = "X", description = "A custom scenario: client links' one-way delay.")
    Long clientMs;

    @Option(names = "--peer-ms", paramLabel = "Y", description = "A custom scenario: server links' one-way delay.")
    Long peerMs;

    @Option(names = "--modes", paramLabel = "MODE,...", split = ",", defaultValue = "relay,push,ring",
            description = "Modes to run: relay, push, ring (default ${DEFAULT-VALUE}; ring needs a model's head, not --pass-through).")
    List<String> modes;

    @Option(names = "--tokens", defaultValue = "64", description = "Measured decode steps (default ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--warmup", defaultValue = "8", description = "Warm-up steps (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--ring-window", defaultValue = "8", description = "Ring mode: steps the servers may run beyond what the "
            + "client verified (default ${DEFAULT-VALUE}, as generate's); below the client's round trip over a ring step, the ring waits.")
    int ringWindow;

    @Option(names = "--warmup-generations", defaultValue = "0", description = "Whole generations run first over the same route with "
            + "the links' delays off, so the JIT has compiled the servers' path as in servers that have run for long, without the "
            + "long contexts of a long --warmup (default ${DEFAULT-VALUE}).")
    int warmupGenerations;

    @Option(names = "--threads", defaultValue = "1", description = "CPU threads per server (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--out", paramLabel = "DIR", description = "Write swarm.json, swarm.md and swarm.png there.")
    Path out;

    @Option(names = "--tls", defaultValue = "off", paramLabel = "off|on|both",
            description = "TLS 1.3 on every connection (client and pushes); both: each run plain then with TLS, back to back "
                    + "(rows marked 'tls'), to compare on a loaded machine (default ${DEFAULT-VALUE}).")
    String tls;

    @Option(names = "--processes", description = "Servers as separate JVMs (same classpath), each behind its proxies as in one JVM: "
            + "what separate processes cost per hop.")
    boolean processes;

    @Option(names = "--server-jvm-options", paramLabel = "OPTS", split = " ",
            description = "With --processes: more JVM options for the servers, e.g. \"-Dcatena.server.inlineSteps=false\".")
    List<String> serverJvmOptions = List.of();

    @Option(names = "--ab", paramLabel = "OPTS", split = " ",
            description = "With --processes: each run twice back to back, the servers plain then with these JVM options (rows "
                    + "marked 'B'): an A/B comparison on a loaded machine.")
    List<String> abOptions;

    @Option(names = "--repeat", defaultValue = "1", description = "Runs of each configuration; within each run the modes (and --tls both) alternate (default ${DEFAULT-VALUE}).")
    int repeat;

    @Spec
    CommandSpec spec;

    /**
     * One measured run.
     *
     * @param hopTurnP50 the servers' turnaround beyond compute (their counters' p50, averaged over the servers), ms
     * @param clientTurnP50 the client's turnaround from the last result to the next step (push, relay), ms
     */
    record Row(String model, String scenario, int servers, long clientMs, long peerMs, String mode, int nEmbd, int steps,
               double p50, double p90, double computeMs, double formulaMs, double hopTurnP50, double hopTurnP90,
               double clientTurnP50, double clientTurnP90) {
        double ratio() {
            return p50 / formulaMs;
        }

        /** Milliseconds per hop above the formula. */
        double overheadPerHop() {
            return (p50 - formulaMs) / servers;
        }

        /** Issue 6's push target: p50 <= 1.10 x the limit + 1 ms per hop. */
        boolean pushTargetMet() {
            return p50 <= 1.10 * formulaMs + servers;
        }
    }

    @Override
    public Integer call() throws Exception {
        if (tokens < 1 || warmup < 0 || warmupGenerations < 0 || threads < 1 || ringWindow < 1 || ringWindow > 64) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--tokens and --threads must be >= 1, --warmup and --warmup-generations >= 0, --ring-window 1..64");
        }
        if (serverCounts != null && serverCounts.stream().anyMatch(k -> k < 1)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--servers: every count must be >= 1");
        }
        Path model = Path.of("models/stories260K.gguf");
        int passThrough = 0;
        if (spans != null && spans.model != null) model = spans.model;
        if (spans != null && spans.preset != null) model = Presets.model(spans.preset);
        if (spans != null && spans.passThrough != null) {
            if (spans.passThrough < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--pass-through must be >= 1");
            passThrough = spans.passThrough;
        }
        List<Scenario> scenarios = new ArrayList<>();
        if (clientMs != null || peerMs != null) {
            scenarios.add(new Scenario("custom", Math.max(0, clientMs == null ? 0 : clientMs), Math.max(0, peerMs == null ? 0 : peerMs),
                    serverCounts == null ? List.of(3) : serverCounts));
        } else {
            var names = scenario == ScenarioName.all ? List.of(ScenarioName.far, ScenarioName.uniform, ScenarioName.lan) : List.of(scenario);
            for (ScenarioName name : names) {
                scenarios.add(switch (name) {
                    case far -> new Scenario("far", 40, 2, serverCounts == null ? List.of(3, 4) : serverCounts);
                    case uniform -> new Scenario("uniform", 20, 20, serverCounts == null ? List.of(3) : serverCounts);
                    case lan, all -> new Scenario("lan", 0, 0, serverCounts == null ? List.of(3) : serverCounts);
                });
            }
        }
        List<Boolean> tlsModes = switch (tls) {
            case "off" -> List.of(false);
            case "on" -> List.of(true);
            case "both" -> List.of(false, true);
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--tls must be off, on or both, got " + tls);
        };
        if (repeat < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--repeat must be >= 1");
        if (processes && !tls.equals("off")) throw new CommandLine.ParameterException(spec.commandLine(), "--processes runs without --tls");
        if (!processes && (abOptions != null || !serverJvmOptions.isEmpty())) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--ab and --server-jvm-options go with --processes");
        }
        var stdout = spec.commandLine().getOut();
        SpanBackend backend = passThrough > 0 ? new PassThroughSpans(16, passThrough) : Catena.spanBackend("ffm");
        List<Row> rows = new ArrayList<>();
        stdout.println(Report.header());
        for (Scenario sc : scenarios) {
            for (int k : sc.servers()) {
                for (int r = 0; r < repeat; r++) { // the modes alternate within a repeat: their ratios come from runs side by side
                    for (var mode : modes(passThrough > 0)) {
                        for (boolean withTls : tlsModes) {
                            List<Row> runs = new ArrayList<>();
                            if (processes) {
                                runs.add(run(model, passThrough, sc, k, mode, serverJvmOptions, ""));
                                if (abOptions != null) {
                                    List<String> b = new ArrayList<>(serverJvmOptions);
                                    b.addAll(abOptions);
                                    runs.add(run(model, passThrough, sc, k, mode, b, " B"));
                                }
                            } else {
                                runs.add(run(backend, model, passThrough > 0, sc, k, mode, withTls));
                            }
                            for (Row row : runs) {
                                rows.add(row);
                                stdout.println(Report.markdownRow(row));
                                stdout.flush();
                            }
                        }
                    }
                }
            }
        }
        if (out != null) {
            Files.createDirectories(out);
            Files.writeString(out.resolve("swarm.json"), Report.swarmJson(rows));
            Files.writeString(out.resolve("swarm.md"), Report.header() + "\n" + String.join("\n", rows.stream().map(Report::markdownRow).toList()) + "\n");
            Report.chart(rows, out.resolve("swarm.png"));
            stdout.println("wrote " + out.resolve("swarm.json") + ", swarm.md and swarm.png");
        }
        stdout.flush();
        return 0;
    }

    /** @param tls TLS 1.3 on every connection: the servers share one identity (one transport), which the client trusts */
    private Row run(SpanBackend backend, Path model, boolean passThrough, Scenario sc, int k, RemoteSession.Mode mode, boolean tls)
            throws Exception {
        var info = backend.inspect(model);
        if (k > info.nLayer()) throw new IllegalArgumentException(k + " servers for " + info.nLayer() + " blocks");
        String id = model.getFileName().toString();
        var netty = Catena.transport("netty");
        List<BenchServer> servers = new ArrayList<>();
        Identity identity = Identity.generate();
        TlsConfig serverTls = tls ? new TlsConfig(identity.privateKey(), identity.certificate(), List.of(identity.certificate()), false) : null;
        TlsConfig clientTls = tls ? new TlsConfig(null, null, List.of(identity.certificate()), false) : null;
        try (Transport st = netty.create(TransportConfig.defaults().withTls(serverTls))) {
            for (BlockRange r : BlockRange.even(info.nLayer(), k)) {
                servers.add(BenchServer.inProcess(model, id, r, threads, backend, st, identity));
            }
            return SwarmMeasurement.measure(backend, model, passThrough, sc, servers, mode, runSettings(), clientTls,
                    tls ? " tls" : "");
        } finally {
            servers.forEach(BenchServer::close);
        }
    }

    private SwarmMeasurement.Run runSettings() {
        return new SwarmMeasurement.Run(tokens, warmup, warmupGenerations, threads, ringWindow);
    }

    /** Servers as child JVMs ({@link ServerProcess}), the client and the proxies in this one. */
    private Row run(Path model, int passThrough, Scenario sc, int k, RemoteSession.Mode mode, List<String> jvmOptions, String mark)
            throws Exception {
        SpanBackend backend = passThrough > 0 ? new PassThroughSpans(16, passThrough) : Catena.spanBackend("ffm");
        var info = backend.inspect(model);
        if (k > info.nLayer()) throw new IllegalArgumentException(k + " servers for " + info.nLayer() + " blocks");
        List<BenchServer> servers = new ArrayList<>();
        try {
            for (BlockRange r : BlockRange.even(info.nLayer(), k)) {
                servers.add(ServerProcess.start(model, model.getFileName().toString(), r, threads,
                        passThrough > 0 ? new int[]{info.nLayer(), passThrough} : null, jvmOptions));
            }
            return SwarmMeasurement.measure(backend, model, passThrough > 0, sc, servers, mode, runSettings(), null,
                    " procs" + mark);
        } finally {
            servers.forEach(BenchServer::close);
        }
    }

    /** The modes asked for, in order; ring left out without a head (pass-through spans). */
    private List<RemoteSession.Mode> modes(boolean passThrough) {
        List<RemoteSession.Mode> out = new ArrayList<>();
        for (String m : modes) {
            switch (m.trim().toLowerCase(Locale.ROOT)) {
                case "relay" -> out.add(RemoteSession.Mode.RELAY);
                case "push" -> out.add(RemoteSession.Mode.PUSH);
                case "ring" -> { if (!passThrough) out.add(RemoteSession.Mode.RING); }
                default -> throw new CommandLine.ParameterException(spec.commandLine(), "--modes: relay, push or ring, not '" + m + "'");
            }
        }
        return out;
    }

    static double percentile(double[] sorted, double p) {
        return sorted.length == 0 ? Double.NaN : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
    }
}

package dev.catena.samples.cli;

import dev.catena.api.BlockRange;
import dev.catena.core.Catena;
import dev.catena.core.CatenaClient;
import dev.catena.core.CatenaServer;
import dev.catena.core.Device;
import dev.catena.core.Failover;
import dev.catena.core.Generation;
import dev.catena.core.GenerationRequest;
import dev.catena.core.LocalSwarm;
import dev.catena.core.Mode;
import dev.catena.core.RouteHop;
import dev.catena.core.Token;
import dev.catena.core.TokenStream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code catena swarm}: K servers on loopback splitting the blocks evenly, a client, one generation, then everything stops. */
@Command(name = "swarm", mixinStandardHelpOptions = true,
        description = {"Starts K servers on loopback that split the model's blocks evenly, generates through them, "
                + "prints the text, per-token latency and counters, and stops everything."})
final class SwarmCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "GGUF", description = "Model file (default: the demo model, models/stories260K.gguf).") Path model;
    @Option(names = "--servers", defaultValue = "3", description = "Number of spans the blocks are split into (default ${DEFAULT-VALUE}).")
    int servers;
    @Option(names = "--replicas", defaultValue = "1", description = "Servers per span (default ${DEFAULT-VALUE}).") int replicas;
    @Option(names = "--chaos", paramLabel = "kill:SPAN@TOKEN,...",
            description = "Faults to inject: kill:1@10 stops the server in use for span 1 after the 10th token.")
    String chaos;
    @Option(names = "--mode", defaultValue = "push", description = "push (servers push to the next), relay, or ring (the last server samples and hands the token to the first; the client verifies after the fact) (default ${DEFAULT-VALUE}).")
    String mode;
    @Option(names = "--prompt", required = true) String prompt;
    @Option(names = "-n", defaultValue = "64") int n;
    @Option(names = "--ctx", description = "KV cache length per session (default: the prompt plus -n, within the model's trained context).")
    Integer ctx;
    @Option(names = "--threads", defaultValue = "1", description = "CPU threads per server.") int threads;
    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or auto, for every server and the client head (default ${DEFAULT-VALUE}).")
    String device;
    @Option(names = "--directory", paramLabel = "URI",
            description = "The servers announce themselves there (etcd://HOST:PORT,..., a file) and the client finds them there.")
    String directory;
    @Option(names = "--json", description = "Print {\"tokens\",\"text\",\"latency_ms\":{\"p50\",\"p90\"},\"counters\"}.") boolean json;
    @Option(names = "--tls", description = "TLS 1.3 on every connection (each server with a fresh identity; the client trusts exactly those).")
    boolean tls;
    @Option(names = "--ring-window", defaultValue = "8", paramLabel = "STEPS",
            description = "With --mode ring: steps the servers may run beyond what the client verified, 1..64 (default ${DEFAULT-VALUE}).")
    int ringWindow;
    @CommandLine.Mixin SamplingOptions sampling;
    @CommandLine.Mixin FailoverOptions failover;
    @CommandLine.Mixin EvidenceOptions evidence;

    @Spec CommandSpec spec;
    private Mode m;

    @Override
    public Integer call() {
        model = DemoModel.orDefault(model);
        m = GeneratorOptions.mode(mode, spec.commandLine());
        int nLayer = Catena.spanBackend(null).inspect(model).nLayer();
        if (servers < 1 || servers > nLayer) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--servers must be in [1, " + nLayer + "] for this model");
        }
        if (replicas < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--replicas must be >= 1");
        }
        Map<Integer, Integer> kills = parseChaos();
        failover.check(spec.commandLine());
        Device d = switch (device) {
            case "cpu" -> Device.CPU;
            case "cuda" -> Device.CUDA;
            case "auto" -> Device.AUTO;
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--device must be cpu, cuda or auto, got '" + device + "'");
        };
        if (ringWindow < 1 || ringWindow > 64) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--ring-window must be in [1, 64], got " + ringWindow);
        }
        if (n < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-n must be >= 1, got " + n);
        }
        var request = sampling.apply(GenerationRequest.builder(prompt).maxTokens(n)).build();
        List<BlockRange> spans = BlockRange.even(nLayer, servers);
        var swarmBuilder = Catena.localSwarm(model).servers(servers).replicas(replicas).mode(m).threads(threads).device(d).tls(tls);
        if (directory != null) {
            try {
                swarmBuilder.directory(GeneratorOptions.directoryUri(directory));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--directory: " + e.getMessage());
            }
        }
        try (LocalSwarm swarm = Progress.during("starting " + servers * replicas + " servers", swarmBuilder::start);
             CatenaClient client = failover.apply(evidence.apply(context(swarm.clientBuilder()).requestTimeout(Duration.ofSeconds(10))
                     .ringWindow(ringWindow), spec.commandLine()), spec.commandLine()).build();
             TokenStream stream = client.stream(request)) {
            int produced = 0;
            for (Token ignored : stream) {
                Integer span = kills.get(++produced);
                if (span != null) killRouteServer(swarm, stream.route(), spans.get(span));
            }
            var g = stream.result();
            print(client.detokenize(concat(g.promptTokens(), g.tokens())), g, swarm.servers(), client.status().counters());
        }
        return 0;
    }

    private static List<Integer> concat(List<Integer> a, List<Integer> b) {
        List<Integer> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private CatenaClient.Builder context(CatenaClient.Builder b) {
        return ctx != null ? b.context(ctx) : b.autoContext();
    }

    /** {@code kill:SPAN@TOKEN,...} as token -> span index. */
    private Map<Integer, Integer> parseChaos() {
        Map<Integer, Integer> kills = new java.util.HashMap<>();
        if (chaos == null) return kills;
        for (String part : chaos.split(",")) {
            var m = java.util.regex.Pattern.compile("kill:(\\d+)@(\\d+)").matcher(part.trim());
            if (!m.matches() || Integer.parseInt(m.group(1)) >= servers) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--chaos: '" + part + "' is not kill:SPAN@TOKEN with SPAN < "
                        + servers);
            }
            kills.put(Integer.parseInt(m.group(2)), Integer.parseInt(m.group(1)));
        }
        return kills;
    }

    /** Stops the server the route uses now for the first block of {@code span}. */
    private void killRouteServer(LocalSwarm swarm, List<RouteHop> route, BlockRange span) {
        route.stream().filter(h -> h.blocks().start() <= span.start() && span.start() < h.blocks().end()).findFirst()
                .flatMap(h -> swarm.servers().stream().filter(s -> s.address().equals(h.address()) && s.isRunning()).findFirst())
                .ifPresent(s -> {
                    spec.commandLine().getErr().println("chaos: stopping server " + s.address() + " (blocks " + s.blocks() + ")");
                    s.close();
                });
    }

    private void print(String text, Generation g, List<CatenaServer> started, dev.catena.core.SwarmStatus.Counters client) {
        double[] ms = g.stats().stepMillis().stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(ms);
        var latency = new LinkedHashMap<String, Object>();
        latency.put("p50", round(percentile(ms, 0.5)));
        latency.put("p90", round(percentile(ms, 0.9)));
        Map<String, Long> counters = new LinkedHashMap<>();
        List<Map<String, Object>> turnarounds = new ArrayList<>(); // per server: percentiles do not add up
        for (CatenaServer s : started) {
            s.counters().forEach((k, v) -> {
                if (!k.startsWith("turnaround_")) counters.merge(k, v, Long::sum);
            });
            var t = new LinkedHashMap<String, Object>();
            t.put("server", s.address());
            t.put("p50_ms", s.counters().get("turnaround_p50_us") / 1e3);
            t.put("p90_ms", s.counters().get("turnaround_p90_us") / 1e3);
            turnarounds.add(t);
        }
        List<Failover> failovers = g.stats().failovers();
        var out = spec.commandLine().getOut();
        if (json) {
            var o = new LinkedHashMap<String, Object>();
            o.put("tokens", g.tokens());
            o.put("text", text);
            o.put("latency_ms", latency);
            o.put("counters", counters);
            o.put("server_turnaround", turnarounds);
            var clientTurnaround = new LinkedHashMap<String, Object>();
            clientTurnaround.put("p50", round(client.turnaroundP50Millis()));
            clientTurnaround.put("p90", round(client.turnaroundP90Millis()));
            o.put("client_turnaround_ms", clientTurnaround);
            if (m == Mode.RING) {
                var ring = new LinkedHashMap<String, Object>();
                ring.put("verified", client.ringVerified());
                ring.put("rewound", client.ringRewound());
                o.put("ring", ring);
            }
            o.put("failovers", failovers.stream().map(f -> Map.<String, Object>of("server", f.server(), "ms", round(f.millis()),
                    "replaced_by", f.replacements().stream().map(h -> h.address() + " " + h.blocks()).toList())).toList());
            out.println(Json.write(o));
        } else {
            out.println(text);
            out.printf("%n%d tokens through %d servers (%s): per-token latency p50 %.2f ms, p90 %.2f ms%n", g.tokens().size(),
                    started.size(), mode, latency.get("p50"), latency.get("p90"));
            out.println("counters: " + counters);
            out.printf(Locale.ROOT, "turnaround beyond compute, p50/p90 ms: servers %s; client %.3f/%.3f%n", turnarounds.stream()
                    .map(t -> String.format(Locale.ROOT, "%.3f/%.3f", (double) t.get("p50_ms"), (double) t.get("p90_ms"))).toList(),
                    client.turnaroundP50Millis(), client.turnaroundP90Millis());
            if (m == Mode.RING) out.printf("ring: %d steps verified after the fact, %d rewound%n", client.ringVerified(), client.ringRewound());
            failovers.forEach(f -> out.printf("failover: %s failed (%s); replaced by %s; recovered in %.1f ms%n", f.server(), f.reason(),
                    f.replacements().isEmpty() ? "a new route" : f.replacements().stream().map(h -> h.address() + " " + h.blocks()).toList(),
                    f.millis()));
        }
        out.flush();
    }

    private static double percentile(double[] sorted, double p) {
        return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}

package dev.catena.bench;

import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.client.Hop;
import dev.catena.core.client.RemoteSession;
import dev.catena.core.client.SwarmClient;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.testing.LinkProxy;
import dev.catena.transport.proto.DType;
import dev.catena.transport.spi.TlsConfig;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * One run of {@link SwarmLatencyBench} against servers already started (in the bench's JVM or their own):
 * a proxy per link, the client, the generation, and the figures: step latency, the servers' compute and
 * turnaround counters after the warm-up, and the client's.
 */
final class SwarmMeasurement {
    private SwarmMeasurement() {
    }

    /**
     * What one run does: {@code tokens} measured decode steps after {@code warmup}, after {@code warmupGenerations}
     * whole generations at no delay; {@code threads} per span and head; a ring's window.
     */
    record Run(int tokens, int warmup, int warmupGenerations, int threads, int ringWindow) {
    }

    /** One run against started servers: the proxies, the client, the generation, the figures. */
    static SwarmLatencyBench.Row measure(SpanBackend backend, Path model, boolean passThrough, Scenario sc, List<BenchServer> servers, RemoteSession.Mode mode,
                       Run run, TlsConfig clientTls, String label) throws Exception {
        int tokens = run.tokens(), warmup = run.warmup(), threads = run.threads();
        var info = backend.inspect(model);
        String id = model.getFileName().toString();
        int k = servers.size();
        List<LinkProxy> proxies = new ArrayList<>();
        try (Transport ct = Catena.transport("netty").create(TransportConfig.defaults().withTls(clientTls))) {
            // Client -> server i through a proxy with the client delay, server i -> i+1 through one with the peer delay.
            boolean direct = sc.clientMs() == 0 && sc.peerMs() == 0;
            List<Hop> route = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                String address = servers.get(i).address();
                if (!direct) {
                    var proxy = LinkProxy.to(address, 100 + i).delay(sc.clientMs(), 0);
                    proxies.add(proxy);
                    address = proxy.address();
                }
                route.add(new Hop(address, servers.get(i).blocks()));
            }
            for (int i = 0; !direct && i + 1 < k; i++) {
                var peer = LinkProxy.to(servers.get(i + 1).address(), 200 + i).delay(sc.peerMs(), 0);
                proxies.add(peer);
                servers.get(i).route(route.get(i + 1).address(), peer.address());
            }
            if (!direct && mode == RemoteSession.Mode.RING) { // the ring closes: the last server to the first, at the peer delay
                var back = LinkProxy.to(servers.getFirst().address(), 300).delay(sc.peerMs(), 0);
                proxies.add(back);
                servers.get(k - 1).route(route.getFirst().address(), back.address());
            }
            List<Double> stepMillis = new ArrayList<>();
            var client = new SwarmClient(ct, Duration.ofSeconds(120));
            Runnable resetCounters = () -> {
                servers.forEach(BenchServer::reset);
                client.counters().turnaround.reset();
                client.counters().resultWait.reset();
            };
            // One head for every generation (a real model's head is loaded once, as a client's is).
            try (client; var head = passThrough ? null : backend.openHead(model, SpanOptions.cpu(threads))) {
                if (run.warmupGenerations() > 0) { // the JIT warmed as in servers that have run for long, at no delay, then the links' own
                    List<long[]> delays = proxies.stream().map(LinkProxy::delayMillis).toList();
                    proxies.forEach(proxy -> proxy.delay(0, 0));
                    for (int g = 0; g < run.warmupGenerations(); g++) {
                        generate(head, client, id, info.nEmbd(), route, mode, run, new ArrayList<>(), () -> { });
                    }
                    for (int i = 0; i < proxies.size(); i++) proxies.get(i).delay(delays.get(i)[0], delays.get(i)[1]);
                }
                generate(head, client, id, info.nEmbd(), route, mode, run, stepMillis, resetCounters);
            }
            double[] steps = stepMillis.subList(warmup, stepMillis.size()).stream().mapToDouble(Double::doubleValue).sorted().toArray();
            List<Map<String, Long>> counters = servers.stream().map(BenchServer::counters).toList();
            double computeMs = counters.stream().mapToDouble(c -> c.get("compute_us") / 1e3 / Math.max(1, c.get("steps"))).sum();
            double formula = sc.formula(k, mode, computeMs);
            double hopP50 = counters.stream().mapToDouble(c -> c.get("turnaround_p50_us") / 1e3).average().orElse(0);
            double hopP90 = counters.stream().mapToDouble(c -> c.get("turnaround_p90_us") / 1e3).average().orElse(0);
            System.err.println("turnaround beyond compute per server, p50/p90 ms: " + counters.stream().map(c -> String.format(Locale.ROOT,
                    "%.3f/%.3f", c.get("turnaround_p50_us") / 1e3, c.get("turnaround_p90_us") / 1e3)).toList()
                    + "; of which waiting for the session's thread: " + counters.stream().map(c -> String.format(Locale.ROOT,
                    "%.3f/%.3f", c.get("input_wait_p50_us") / 1e3, c.get("input_wait_p90_us") / 1e3)).toList()
                    + "; compute per step: " + counters.stream().map(c -> String.format(Locale.ROOT, "%.3f",
                    c.get("compute_us") / 1e3 / Math.max(1, c.get("steps")))).toList()
                    + "; client: of its turnaround, waiting for its thread p50/p90 " + String.format(Locale.ROOT, "%.3f/%.3f",
                    client.counters().resultWait.percentileMillis(0.5), client.counters().resultWait.percentileMillis(0.9)));
            var turn = client.counters().turnaround;
            return new SwarmLatencyBench.Row((passThrough ? "pass-through" : id) + label, sc.name(), k, sc.clientMs(), sc.peerMs(),
                    mode.name().toLowerCase(Locale.ROOT), info.nEmbd(), steps.length, SwarmLatencyBench.percentile(steps, 0.5), SwarmLatencyBench.percentile(steps, 0.9),
                    computeMs, formula, hopP50, hopP90, turn.percentileMillis(0.5), turn.percentileMillis(0.9));
        } finally {
            proxies.forEach(LinkProxy::close);
        }
    }

    /**
     * One generation of {@code warmup + tokens} decode steps through {@code head} (null: pass-through spans, random
     * hidden states); each decode step's time into {@code stepMillis}, counters reset after the warm-up.
     */
    private static void generate(ModelHead head, SwarmClient client, String id, int nEmbd, List<Hop> route,
                                 RemoteSession.Mode mode, Run run, List<Double> stepMillis, Runnable resetCounters) {
        int tokens = run.tokens(), warmup = run.warmup();
        if (mode == RemoteSession.Mode.RING) {
            try (var ring = new RingChain(spec -> RemoteSession.open(client, id, nEmbd, route, mode, tokens + warmup + 64, DType.F32,
                    Duration.ofSeconds(120), true, spec), run.ringWindow(), millis -> {
                     stepMillis.add(millis);
                     if (stepMillis.size() == warmup) resetCounters.run();
                 })) {
                GenerationLoop.generate(head, ring, "Once upon a time", tokens + warmup + 2, SamplingParams.greedyDecoding(),
                        tokens + warmup + 64, false, false, t -> { });
                long[] counts = ring.counts();
                System.err.printf("ring: %d steps verified after the fact, %d rewound%n", counts[0], counts[1]);
            }
            return;
        }
        try (var session = RemoteSession.open(client, id, nEmbd, route, mode, tokens + warmup + 64, DType.F32, Duration.ofSeconds(120))) {
            // Only decode steps (one token) after warm-up count, for latency and for the servers' compute alike.
            GenerationLoop.Chain timed = (hidden, n, position) -> {
                if (n == 1 && stepMillis.size() == warmup) resetCounters.run();
                long t0 = System.nanoTime();
                float[] out = session.step(hidden, n, position);
                if (n == 1) stepMillis.add((System.nanoTime() - t0) / 1e6);
                return out;
            };
            if (head == null) { // pass-through spans: random hidden states, one token a step
                var random = new Random(7);
                float[] hidden = new float[nEmbd];
                for (int p = 0; p < tokens + warmup; p++) {
                    for (int j = 0; j < hidden.length; j++) hidden[j] = (float) random.nextGaussian();
                    timed.forwardLast(hidden, 1, p);
                }
            } else {
                GenerationLoop.generate(head, timed, "Once upon a time", tokens + warmup + 1, SamplingParams.greedyDecoding(),
                        tokens + warmup + 64, false, false, t -> { });
            }
        }
    }
}

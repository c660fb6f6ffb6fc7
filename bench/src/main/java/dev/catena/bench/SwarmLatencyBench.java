package dev.catena.bench;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.Generator;
import dev.catena.core.chaos.LinkProxy;
import dev.catena.core.client.RemoteSession;
import dev.catena.core.client.SwarmClient;
import dev.catena.core.server.SwarmServer;
import dev.catena.transport.proto.DType;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Per-token decode latency of a swarm against PROTOCOL.md's latency model, over emulated links:
 * K servers and a client on loopback (Netty), every (source, destination) pair through its own
 * user-space proxy with a set one-way delay. For each mode it reports p50/p90 over the decode
 * steps after warm-up, the formula evaluated with the servers' measured compute time, and the ratio.
 *
 * <pre>java -cp ... dev.catena.bench.SwarmLatencyBench --model GGUF [--servers 3] [--client-ms 40] [--peer-ms 2]
 *     [--tokens 64] [--warmup 8]</pre>
 */
public final class SwarmLatencyBench {

    public static void main(String[] args) throws Exception {
        Path model = Path.of("../shared/models/stories260K.gguf");
        int k = 3, tokens = 64, warmup = 8;
        long clientMs = 40, peerMs = 2;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = Path.of(args[++i]);
                case "--servers" -> k = Integer.parseInt(args[++i]);
                case "--client-ms" -> clientMs = Long.parseLong(args[++i]);
                case "--peer-ms" -> peerMs = Long.parseLong(args[++i]);
                case "--tokens" -> tokens = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        var backend = Catena.spanBackend("ffm");
        var info = backend.inspect(model);
        String id = model.getFileName().toString();
        var netty = Catena.transport("netty");
        List<SwarmServer> servers = new ArrayList<>();
        List<LinkProxy> proxies = new ArrayList<>();
        try (Transport st = netty.create(TransportConfig.defaults()); Transport ct = netty.create(TransportConfig.defaults());
             var head = backend.openHead(model, SpanOptions.cpu(1))) {
            List<Map<String, String>> routes = new ArrayList<>();
            for (BlockRange r : BlockRange.even(info.nLayer(), k)) {
                var map = new HashMap<String, String>();
                routes.add(map);
                servers.add(SwarmServer.start(new SwarmServer.Config(model, id, r, SpanOptions.cpu(1), "127.0.0.1:0", 1L << 30,
                        Duration.ofMinutes(5), 1, name -> map.getOrDefault(name, name)), backend, st));
            }
            // The client reaches server i through a proxy with the client delay; server i reaches i+1 with the peer delay.
            // With no delay at all the links are direct: that measures Catena's own overhead per hop, not the proxies'.
            boolean direct = clientMs == 0 && peerMs == 0;
            List<RemoteSession.Hop> route = new ArrayList<>();
            for (int i = 0; direct && i < k; i++) {
                route.add(new RemoteSession.Hop(servers.get(i).address(), servers.get(i).blocks()));
            }
            for (int i = 0; !direct && i < k; i++) {
                var toServer = LinkProxy.to(servers.get(i).address(), 100 + i).delay(clientMs, 0);
                proxies.add(toServer);
                route.add(new RemoteSession.Hop(toServer.address(), servers.get(i).blocks()));
            }
            for (int i = 0; !direct && i + 1 < k; i++) {
                var peer = LinkProxy.to(servers.get(i + 1).address(), 200 + i).delay(peerMs, 0);
                proxies.add(peer);
                routes.get(i).put(route.get(i + 1).address(), peer.address());
            }
            try (var client = new SwarmClient(ct, Duration.ofSeconds(60))) {
                System.out.printf(Locale.ROOT, "| mode | servers | client one-way ms | peer one-way ms | p50 ms | p90 ms | formula ms | p50 / formula |%n");
                System.out.printf(Locale.ROOT, "|---|---|---|---|---|---|---|---|%n");
                for (var mode : RemoteSession.Mode.values()) {
                    servers.forEach(s -> s.counters().computeNanos.set(0));
                    servers.forEach(s -> s.counters().steps.set(0));
                    Generator.Generation g;
                    try (var session = RemoteSession.open(client, id, info.nEmbd(), route, mode, 512, DType.F32, Duration.ofSeconds(60))) {
                        g = Generator.generate(head, session::step, "Once upon a time", tokens + warmup, SamplingParams.greedyDecoding(),
                                512, false, false, t -> { });
                    }
                    double[] steps = Arrays.copyOfRange(g.stepMillis(), warmup, g.stepMillis().length);
                    Arrays.sort(steps);
                    double computeMs = servers.stream().mapToDouble(s -> s.counters().computeNanos.get() / 1e6
                            / Math.max(1, s.counters().steps.get())).sum();
                    double formula = mode == RemoteSession.Mode.PUSH
                            ? clientMs + computeMs + (k - 1) * peerMs + clientMs
                            : k * 2.0 * clientMs + computeMs;
                    double p50 = steps[steps.length / 2];
                    double p90 = steps[(int) Math.ceil(steps.length * 0.9) - 1];
                    System.out.printf(Locale.ROOT, "| %s | %d | %d | %d | %.1f | %.1f | %.1f | %.3f |%n", mode.name().toLowerCase(Locale.ROOT),
                            k, clientMs, peerMs, p50, p90, formula, p50 / formula);
                }
            }
        } finally {
            proxies.forEach(LinkProxy::close);
            servers.forEach(SwarmServer::close);
        }
    }
}

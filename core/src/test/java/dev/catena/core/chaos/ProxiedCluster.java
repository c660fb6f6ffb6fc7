package dev.catena.core.chaos;

import dev.catena.testing.LinkProxy;
import dev.catena.api.BlockRange;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.core.client.FaultTolerantSession;
import dev.catena.core.client.RemoteSession.Mode;
import dev.catena.core.client.SessionSpec;
import dev.catena.core.client.SwarmClient;
import dev.catena.core.directory.InMemoryDirectory;
import dev.catena.api.directory.ServerRecord;
import dev.catena.testing.CountingBackend;
import dev.catena.core.server.SwarmServer;
import dev.catena.transport.proto.DType;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * Test fixture: servers of the counting model on real TCP, two spans with two replicas each, every
 * (source, destination) pair through its own {@link LinkProxy}: the client reaches each server
 * through one, each server reaches each other server through another.
 */
final class ProxiedCluster implements AutoCloseable {
    static final Path MODEL = Path.of("counting.gguf");
    /** The counting model continues 3 with 7, 11, 15, ... */
    static final int[] CLEAN = {7, 11, 15, 19, 23, 27, 31, 35, 39, 43, 47, 51, 55, 59, 63, 67};

    final Transport transport;
    final List<SwarmServer> servers = new ArrayList<>();
    final Map<String, LinkProxy> clientLinks = new HashMap<>();      // real server address -> proxy the client dials
    final Map<String, LinkProxy> serverLinks = new HashMap<>();      // "from->to" real addresses -> proxy
    final InMemoryDirectory directory = new InMemoryDirectory();

    ProxiedCluster(long seed) throws Exception {
        transport = Catena.transportProviders().stream().filter(p -> p.name().equals("netty")).findFirst().orElseThrow()
                .create(TransportConfig.defaults());
        var backend = new CountingBackend(4);
        List<BlockRange> spans = List.of(new BlockRange(0, 2), new BlockRange(0, 2), new BlockRange(2, 4), new BlockRange(2, 4));
        Map<String, Map<String, String>> pushRoutes = new HashMap<>();
        for (BlockRange r : spans) {
            var routes = new HashMap<String, String>();
            var s = SwarmServer.start(new SwarmServer.Config(MODEL, "counting.gguf", r, SpanOptions.cpu(1), "127.0.0.1:0", 1L << 30,
                    Duration.ofMinutes(1), 1, name -> routes.getOrDefault(name, name)), backend, transport);
            servers.add(s);
            pushRoutes.put(s.address(), routes);
        }
        for (SwarmServer s : servers) {
            var proxy = LinkProxy.to(s.address(), seed++);
            clientLinks.put(s.address(), proxy);
            directory.announce(ServerRecord.online(proxy.address(), "counting.gguf", s.blocks()));
        }
        for (SwarmServer from : servers) {
            for (SwarmServer to : servers) {
                if (from == to) continue;
                var proxy = LinkProxy.to(to.address(), seed++);
                serverLinks.put(from.address() + "->" + to.address(), proxy);
                pushRoutes.get(from.address()).put(clientLinks.get(to.address()).address(), proxy.address());
            }
        }
    }

    /** The server behind a client-side proxy address. */
    SwarmServer behind(String proxyAddress) {
        return servers.stream().filter(s -> clientLinks.get(s.address()).address().equals(proxyAddress)).findFirst().orElseThrow();
    }

    LinkProxy clientLinkOfHop(FaultTolerantSession session, int hop) {
        return clientLinks.get(behind(session.route().get(hop).address()).address());
    }

    record Run(int[] tokens, List<FaultTolerantSession.Failover> failovers) {
    }

    /** Generates {@code CLEAN.length} tokens from "3"; {@code atToken} actions run right after the given token. */
    Run generate(Mode mode, Map<Integer, Consumer<FaultTolerantSession>> atToken) {
        return generate(mode, atToken, Duration.ofSeconds(2));
    }

    /** As {@link #generate(Mode, Map)}, with the client's request timeout (connect, handshake, open, close). */
    Run generate(Mode mode, Map<Integer, Consumer<FaultTolerantSession>> atToken, Duration requestTimeout) {
        var backend = new CountingBackend(4);
        try (var client = new SwarmClient(transport, requestTimeout);
             var head = backend.openHead(MODEL, SpanOptions.cpu(1));
             var session = new FaultTolerantSession(client, directory,
                     new SessionSpec("counting.gguf", 4, CountingBackend.N_EMBD, 64, DType.F32), mode, new FaultTolerantSession.Policy(6, Duration.ofMinutes(1), Duration.ofMinutes(5), Duration.ofSeconds(1)))) {
            int[] produced = {0};
            IntConsumer onToken = t -> {
                var action = atToken.get(++produced[0]);
                if (action != null) action.accept(session);
            };
            var g = GenerationLoop.generate(head, session, "3", CLEAN.length, SamplingParams.greedyDecoding(), 64, false, false, onToken);
            return new Run(g.tokens(), session.failovers());
        }
    }

    @Override
    public void close() {
        clientLinks.values().forEach(LinkProxy::close);
        serverLinks.values().forEach(LinkProxy::close);
        servers.forEach(SwarmServer::close);
        transport.close();
    }
}

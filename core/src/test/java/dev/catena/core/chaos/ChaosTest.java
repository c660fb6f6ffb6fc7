package dev.catena.core.chaos;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.Generator;
import dev.catena.core.client.FaultTolerantSession;
import dev.catena.core.client.RemoteSession.Mode;
import dev.catena.core.client.SwarmClient;
import dev.catena.core.directory.InMemoryDirectory;
import dev.catena.core.directory.ServerRecord;
import dev.catena.core.local.CountingBackend;
import dev.catena.core.server.SwarmServer;
import dev.catena.transport.proto.DType;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults on real TCP links, through a user-space proxy per (source, destination) pair: the client
 * reaches each server through its own proxy, and each server reaches each other server through
 * another. Two spans, two replicas each; the counting model continues 3 with 7, 11, 15, ...
 */
class ChaosTest {
    static final long SEED = Long.getLong("catena.test.seed", 777L);
    static final Path MODEL = Path.of("counting.gguf");
    static final int[] CLEAN = {7, 11, 15, 19, 23, 27, 31, 35, 39, 43, 47, 51, 55, 59, 63, 67};

    Transport transport;
    final List<SwarmServer> servers = new ArrayList<>();
    final Map<String, LinkProxy> clientLinks = new HashMap<>();      // real server address -> proxy the client dials
    final Map<String, LinkProxy> serverLinks = new HashMap<>();      // "from->to" real addresses -> proxy
    final InMemoryDirectory directory = new InMemoryDirectory();

    @BeforeEach
    void start() throws Exception {
        transport = Catena.transportProviders().stream().filter(p -> p.name().equals("netty")).findFirst().orElseThrow()
                .create(TransportConfig.defaults());
        var backend = new CountingBackend(4);
        Map<String, String> realByClientName = new HashMap<>();
        List<BlockRange> spans = List.of(new BlockRange(0, 2), new BlockRange(0, 2), new BlockRange(2, 4), new BlockRange(2, 4));
        // Servers first (their push routes are resolved lazily through the maps filled below).
        Map<String, Map<String, String>> pushRoutes = new HashMap<>();
        for (BlockRange r : spans) {
            var routes = new HashMap<String, String>();
            var s = SwarmServer.start(new SwarmServer.Config(MODEL, "counting.gguf", r, SpanOptions.cpu(1), "127.0.0.1:0", 1L << 30,
                    Duration.ofMinutes(1), 1, name -> routes.getOrDefault(name, name)), backend, transport);
            servers.add(s);
            pushRoutes.put(s.address(), routes);
        }
        long seed = SEED;
        for (SwarmServer s : servers) {
            var proxy = LinkProxy.to(s.address(), seed++);
            clientLinks.put(s.address(), proxy);
            realByClientName.put(proxy.address(), s.address());
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

    @AfterEach
    void stop() {
        clientLinks.values().forEach(LinkProxy::close);
        serverLinks.values().forEach(LinkProxy::close);
        servers.forEach(SwarmServer::close);
        transport.close();
    }

    /** The server behind a client-side proxy address. */
    SwarmServer behind(String proxyAddress) {
        return servers.stream().filter(s -> clientLinks.get(s.address()).address().equals(proxyAddress)).findFirst().orElseThrow();
    }

    record Run(int[] tokens, List<FaultTolerantSession.Failover> failovers) {
    }

    Run generate(Mode mode, Map<Integer, java.util.function.Consumer<FaultTolerantSession>> atToken) {
        var backend = new CountingBackend(4);
        try (var client = new SwarmClient(transport, Duration.ofSeconds(2));
             var head = backend.openHead(MODEL, SpanOptions.cpu(1));
             var session = new FaultTolerantSession(client, directory, "counting.gguf", 4, CountingBackend.N_EMBD, mode, 64,
                     DType.F32, new FaultTolerantSession.Policy(4, Duration.ofMinutes(1), Duration.ofMinutes(5), Duration.ofSeconds(1)))) {
            int[] produced = {0};
            IntConsumer onToken = t -> {
                var action = atToken.get(++produced[0]);
                if (action != null) action.accept(session);
            };
            var g = Generator.generate(head, session, "3", CLEAN.length, SamplingParams.greedyDecoding(), 64, false, false, onToken);
            return new Run(g.tokens(), session.failovers());
        }
    }

    LinkProxy clientLinkOfHop(FaultTolerantSession session, int hop) {
        return clientLinks.get(behind(session.route().get(hop).address()).address());
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void aResetLinkFailsOver(Mode mode) {
        var run = generate(mode, Map.of(5, s -> clientLinkOfHop(s, 1).resetConnections()));
        assertArrayEquals(CLEAN, run.tokens(), "seed " + SEED);
        assertEquals(1, run.failovers().size(), run.failovers().toString());
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void aHangingServerTimesOutAndFailsOver(Mode mode) {
        var run = generate(mode, Map.of(4, s -> clientLinkOfHop(s, 1).fault(LinkProxy.Fault.BLACKHOLE)));
        assertArrayEquals(CLEAN, run.tokens(), "seed " + SEED);
        assertTrue(run.failovers().size() >= 1, run.failovers().toString());
        assertTrue(run.failovers().getFirst().reason().contains("no valid result") || run.failovers().getFirst().reason().contains("did not answer"),
                run.failovers().toString());
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void corruptedBytesAreDetectedAndFailedOver(Mode mode) {
        var run = generate(mode, Map.of(3, s -> clientLinkOfHop(s, 0).corruptOneIn(200)));
        assertArrayEquals(CLEAN, run.tokens(), "seed " + SEED + ": corruption never reaches the output");
        assertTrue(run.failovers().size() >= 1, "seed " + SEED + ": " + run.failovers());
    }

    @org.junit.jupiter.api.Test
    void lostPushesAreCoveredByTheClientsCopies() {
        serverLinks.values().forEach(p -> p.fault(LinkProxy.Fault.BLACKHOLE)); // every push vanishes
        var run = generate(Mode.PUSH, Map.of());
        assertArrayEquals(CLEAN, run.tokens());
        assertEquals(0, run.failovers().size(), "lost pushes are not failures");
        assertEquals(0, servers.stream().mapToLong(s -> s.counters().pushesUsed.get()).sum());
    }

    @org.junit.jupiter.api.Test
    void aSlowLinkOnlySlowsDown() {
        clientLinks.values().forEach(p -> p.delay(20, 5));
        var run = generate(Mode.PUSH, Map.of());
        assertArrayEquals(CLEAN, run.tokens());
        assertEquals(0, run.failovers().size());
        assertTrue(servers.stream().mapToLong(s -> s.counters().pushesUsed.get()).sum() > 0,
                "with a slow client link the pushes win");
    }
}

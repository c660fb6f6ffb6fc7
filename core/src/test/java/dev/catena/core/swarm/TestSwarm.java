package dev.catena.core.swarm;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.client.Hop;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.core.client.RemoteSession;
import dev.catena.core.client.SwarmClient;
import dev.catena.core.server.SwarmServer;
import dev.catena.transport.proto.DType;
import dev.catena.transport.spi.Transport;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** Test fixture: K servers splitting a model's blocks evenly, and a client, on one transport. */
final class TestSwarm implements AutoCloseable {
    final Path model;
    final String modelId;
    final SpanBackend backend;
    final Transport clientTransport;
    final List<SwarmServer> servers = new ArrayList<>();
    final SwarmClient client;

    /**
     * @param serverTransport how server i reaches its peers (tests may wrap it to corrupt or drop pushes)
     */
    TestSwarm(SpanBackend backend, Path model, int k, Function<Integer, Transport> serverTransport, Transport clientTransport,
              String bind, long kvBudget) {
        this(backend, model, k, serverTransport, clientTransport, bind, kvBudget, i -> dev.catena.core.Identity.generate());
    }

    /** @param identities server i's identity */
    TestSwarm(SpanBackend backend, Path model, int k, Function<Integer, Transport> serverTransport, Transport clientTransport,
              String bind, long kvBudget, Function<Integer, dev.catena.core.Identity> identities) {
        this(backend, model, k, serverTransport, clientTransport, bind, kvBudget, identities, defaultBatching());
    }

    /** Off, or {@code -Dcatena.test.maxBatch=N}: every swarm test's servers batching up to N sessions' steps. */
    static SwarmServer.Batching defaultBatching() {
        int n = Integer.getInteger("catena.test.maxBatch", 1);
        return new SwarmServer.Batching(n, Duration.ZERO);
    }

    /** @param batching every server's continuous batching */
    TestSwarm(SpanBackend backend, Path model, int k, Function<Integer, Transport> serverTransport, Transport clientTransport,
              String bind, long kvBudget, Function<Integer, dev.catena.core.Identity> identities, SwarmServer.Batching batching) {
        this.model = model;
        this.modelId = model.getFileName().toString();
        this.backend = backend;
        this.clientTransport = clientTransport;
        int nLayer = backend.inspect(model).nLayer();
        try {
            for (BlockRange r : BlockRange.even(nLayer, k)) {
                var config = new SwarmServer.Config(model, modelId, r, SpanOptions.cpu(1), bind, kvBudget, Duration.ofMinutes(5), 1)
                        .withBatching(batching);
                servers.add(SwarmServer.start(config, backend, serverTransport.apply(servers.size()), identities.apply(servers.size())));
            }
        } catch (RuntimeException e) {
            servers.forEach(SwarmServer::close);
            throw e;
        }
        this.client = new SwarmClient(clientTransport, Duration.ofSeconds(10));
    }

    List<Hop> route() {
        return servers.stream().map(s -> new Hop(s.address(), s.blocks())).toList();
    }

    RemoteSession open(RemoteSession.Mode mode, int maxLength) {
        return RemoteSession.open(client, modelId, backend.inspect(model).nEmbd(), route(), mode, maxLength, DType.F32,
                Duration.ofSeconds(30));
    }

    GenerationLoop.Generation generate(ModelHead head, RemoteSession.Mode mode, String prompt, int n) {
        try (RemoteSession session = open(mode, 256)) {
            return GenerationLoop.generate(head, session::step, prompt, n, SamplingParams.greedyDecoding(), 256, false, true, t -> { });
        }
    }

    long bytesClientToServers() {
        return servers.stream().mapToLong(s -> s.counters().bytesFromClients.get()).sum();
    }

    long bytesServerToServer() {
        return servers.stream().mapToLong(s -> s.counters().bytesToPeers.get()).sum();
    }

    @Override
    public void close() {
        client.close();
        servers.forEach(SwarmServer::close);
    }
}

package dev.catena.core.swarm;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.ServerRecord;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.client.FaultTolerantSession;
import dev.catena.core.client.RemoteSession;
import dev.catena.core.client.SessionSpec;
import dev.catena.core.client.SwarmClient;
import dev.catena.core.directory.InMemoryDirectory;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.core.server.SwarmServer;
import dev.catena.transport.proto.DType;
import dev.catena.transport.spi.Transport;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Test fixture for ring mode: K servers splitting a model evenly, in a directory, and a fault-tolerant client. */
final class RingCluster implements AutoCloseable {
    static final FaultTolerantSession.Policy POLICY =
            new FaultTolerantSession.Policy(4, Duration.ofSeconds(60), Duration.ofMinutes(5), Duration.ofSeconds(10));

    final Path model;
    final String modelId;
    final SpanBackend backend;
    final List<SwarmServer> servers = new ArrayList<>();
    final InMemoryDirectory directory = new InMemoryDirectory();
    final SwarmClient client;
    FaultTolerantSession.Policy policy = POLICY;

    /** @param serverTransport server i's transport (a test may make one lie) */
    RingCluster(SpanBackend backend, Path model, int k, Function<Integer, Transport> serverTransport, Transport clientTransport,
                String bind, Function<Integer, dev.catena.core.Identity> identities) {
        this.model = model;
        this.modelId = model.getFileName().toString();
        this.backend = backend;
        int nLayer = backend.inspect(model).nLayer();
        try {
            for (BlockRange r : BlockRange.even(nLayer, k)) add(r, serverTransport.apply(servers.size()), bind, identities.apply(servers.size()));
        } catch (RuntimeException e) {
            servers.forEach(SwarmServer::close);
            throw e;
        }
        this.client = new SwarmClient(clientTransport, Duration.ofSeconds(5));
    }

    SwarmServer add(BlockRange r, Transport transport, String bind, dev.catena.core.Identity identity) {
        var config = new SwarmServer.Config(model, modelId, r, SpanOptions.cpu(1), bind, 1L << 30, Duration.ofMinutes(1), 1);
        var s = SwarmServer.start(config, backend, transport, identity);
        servers.add(s);
        directory.announce(ServerRecord.online(s.address(), modelId, s.blocks()));
        return s;
    }

    FaultTolerantSession session(RemoteSession.Mode mode) {
        var info = backend.inspect(model);
        return new FaultTolerantSession(client, directory, new SessionSpec(modelId, info.nLayer(), info.nEmbd(), 256, DType.F32), mode, policy);
    }

    /** Generates {@code n} tokens; {@code afterToken} runs after each with its number (from 1) and the session. */
    GenerationLoop.Generation generate(ModelHead head, RemoteSession.Mode mode, String prompt, int n, SamplingParams sampling,
                                       BiConsumer<Integer, FaultTolerantSession> afterToken, long[] ringCounts) {
        try (var session = session(mode)) {
            int[] produced = {0};
            var g = GenerationLoop.generate(head, session, prompt, n, sampling, 256, false, true,
                    t -> afterToken.accept(++produced[0], session));
            ringCounts[0] = session.ringVerified();
            ringCounts[1] = session.ringRewinds();
            return g;
        }
    }

    /** Every session closed and every KV byte freed, on every server still up, within 5 s. */
    void assertNothingLeft() {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (servers.stream().anyMatch(s -> !s.isClosed() && (s.kvBytesReserved() > 0 || s.openSessions() > 0))
                && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        for (var s : servers) {
            if (s.isClosed()) continue;
            assertEquals(0, s.openSessions(), "no session left on " + s.address());
            assertEquals(0, s.kvBytesReserved(), "no KV left on " + s.address());
        }
    }

    @Override
    public void close() {
        client.close();
        servers.forEach(SwarmServer::close);
    }
}

package dev.catena.core.client;

import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.core.directory.Directory;
import dev.catena.core.directory.StaticDirectory;
import dev.catena.transport.proto.DType;
import dev.catena.transport.spi.Transport;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Generation over a swarm: the client head here, the blocks on the servers at {@code peers}, in
 * push or relay mode. The route is planned over every server (replicas included) and survives
 * servers failing ({@link FaultTolerantSession}).
 */
public final class SwarmInference implements AutoCloseable {
    private final SwarmClient client;
    private final ModelHead head;
    private final Directory directory;
    private final String modelId;
    private final int nLayer;
    private final int nEmbd;
    private final List<FaultTolerantSession.Failover> failovers = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** A failover and when its step completed. */
    public record Recorded(java.time.Instant time, FaultTolerantSession.Failover failover) {
    }

    private static final int RECENT = 20;
    private final java.util.Deque<Recorded> recent = new java.util.concurrent.ConcurrentLinkedDeque<>();
    private final java.util.concurrent.atomic.AtomicLong failoverCount = new java.util.concurrent.atomic.AtomicLong();
    private volatile FaultTolerantSession current;
    private volatile FaultTolerantSession.Policy policy;

    private SwarmInference(SwarmClient client, ModelHead head, Directory directory, String modelId, int nLayer, int nEmbd) {
        this.client = client;
        this.head = head;
        this.directory = directory;
        this.modelId = modelId;
        this.nLayer = nLayer;
        this.nEmbd = nEmbd;
        this.policy = FaultTolerantSession.Policy.defaults(client.requestTimeout());
    }

    /** The model id servers announce: the GGUF file's name. */
    public static String modelId(Path model) {
        return model.getFileName().toString();
    }

    /** Over the servers at {@code peers}, asked for their spans. */
    public static SwarmInference open(SpanBackend backend, Path model, Transport transport, List<String> peers,
                                      SpanOptions headOptions, Duration timeout) {
        var client = new SwarmClient(transport, timeout);
        try {
            return open(backend, model, client, new StaticDirectory(Routes.describe(client, peers, modelId(model))), headOptions);
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }

    /** Over the servers a directory lists for the model. */
    public static SwarmInference open(SpanBackend backend, Path model, Transport transport, Directory directory,
                                      SpanOptions headOptions, Duration timeout) {
        var client = new SwarmClient(transport, timeout);
        try {
            return open(backend, model, client, directory, headOptions);
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }

    private static SwarmInference open(SpanBackend backend, Path model, SwarmClient client, Directory directory,
                                       SpanOptions headOptions) {
        var info = backend.inspect(model);
        RoutePlanner.plan(directory.servers(modelId(model)), info.nLayer(), java.util.Set.of(), RoutePlanner.hops()); // fail early
        return new SwarmInference(client, backend.openHead(model, headOptions), directory, modelId(model), info.nLayer(),
                info.nEmbd());
    }

    /** Retries, bans and the step timeout for the generations that follow. */
    public void policy(FaultTolerantSession.Policy policy) {
        this.policy = java.util.Objects.requireNonNull(policy, "policy");
    }

    /** The route of the generation in progress (empty between generations); call it from the generation's callback. */
    public List<Hop> currentRoute() {
        var session = current;
        return session == null ? List.of() : session.route();
    }

    /** Every failover of this inference's generations so far. */
    public List<FaultTolerantSession.Failover> failovers() {
        return List.copyOf(failovers);
    }

    public SwarmClient client() {
        return client;
    }

    /** Opens sessions along the route for one generation, then closes them. */
    public GenerationLoop.Generation generate(String prompt, int n, SamplingParams sampling, RemoteSession.Mode mode, int maxLength,
                                         DType wireDtype, boolean stopAtEos, boolean keepLogits, IntConsumer onToken) {
        try (var session = new FaultTolerantSession(client, directory, new SessionSpec(modelId, nLayer, nEmbd, maxLength, wireDtype), mode, policy)) {
            current = session;
            try {
                return GenerationLoop.generate(head, session, prompt, n, sampling, maxLength, stopAtEos, keepLogits, onToken);
            } finally {
                current = null;
                failovers.addAll(session.failovers());
            }
        }
    }

    /** The client head: tokenizer, embeddings, final norm, LM head and sampler. */
    public ModelHead head() {
        return head;
    }

    /**
     * A fault-tolerant session for one generation or conversation, under the current policy; its
     * route opens at the first step. The caller closes it, which frees the servers' sessions.
     */
    public FaultTolerantSession openSession(RemoteSession.Mode mode, int maxLength, DType wireDtype) {
        var session = new FaultTolerantSession(client, directory, new SessionSpec(modelId, nLayer, nEmbd, maxLength, wireDtype), mode, policy);
        session.onFailover(this::record);
        return session;
    }

    private void record(FaultTolerantSession.Failover f) {
        failovers.add(f);
        failoverCount.incrementAndGet();
        recent.addLast(new Recorded(java.time.Instant.now(), f));
        while (recent.size() > RECENT) recent.pollFirst();
    }

    /** The last failovers of sessions from {@link #openSession}, oldest first (at most 20). */
    public List<Recorded> recentFailovers() {
        return List.copyOf(recent);
    }

    /** Failovers of sessions from {@link #openSession} so far. */
    public long failoverCount() {
        return failoverCount.get();
    }

    /** The directory the routes are planned over (for a peer list, the servers' own answers at start). */
    public Directory directory() {
        return directory;
    }

    public String modelId() {
        return modelId;
    }

    public int nLayer() {
        return nLayer;
    }

    @Override
    public void close() {
        try {
            head.close();
        } finally {
            client.close();
        }
    }
}

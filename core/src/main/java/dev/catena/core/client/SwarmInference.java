package dev.catena.core.client;

import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.api.directory.Directory;
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

    /** The model id servers announce: the GGUF's content fingerprint ({@link dev.catena.core.model.ModelIdentity}). */
    public static String modelId(Path model) {
        return dev.catena.core.model.ModelIdentity.idOf(model);
    }

    /** Over the servers at {@code peers}, asked for their spans. */
    public static SwarmInference open(SpanBackend backend, Path model, Transport transport, List<String> peers,
                                      SpanOptions headOptions, Duration timeout) {
        var client = new SwarmClient(transport, timeout);
        try {
            return open(backend, model, client, new StaticDirectory(Routes.describe(client, peers, modelId(model), modelName(model))),
                    headOptions);
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }

    /** Over the servers a directory lists for the model; the inference owns the directory and closes it. */
    public static SwarmInference open(SpanBackend backend, Path model, Transport transport, Directory directory,
                                      SpanOptions headOptions, Duration timeout) {
        var client = new SwarmClient(transport, timeout);
        try {
            return open(backend, model, client, directory, headOptions);
        } catch (RuntimeException e) {
            client.close();
            directory.close();
            throw e;
        }
    }

    private static SwarmInference open(SpanBackend backend, Path model, SwarmClient client, Directory directory,
                                       SpanOptions headOptions) {
        var info = backend.inspect(model);
        String id = modelId(model);
        Directory checked = sameWeights(model, new SignedRecordsDirectory(directory, client));
        try {
            RoutePlanner.plan(checked.servers(id), info.nLayer(), java.util.Set.of(), RoutePlanner.hops()); // fail early
        } catch (dev.catena.core.SwarmException.NoRoute e) {
            throw new dev.catena.core.SwarmException.NoRoute(e.getMessage()
                    + (checked instanceof FilteringDirectory f ? f.refusals() : "") + otherModels(directory, id, modelName(model)));
        }
        return new SwarmInference(client, backend.openHead(model, headOptions), checked, id, info.nLayer(), info.nEmbd());
    }

    /** The directory with servers of other weights left out, when the model file can be hashed. */
    private static Directory sameWeights(Path model, Directory directory) {
        try {
            return new SameWeightsDirectory(directory, dev.catena.core.model.ModelIdentity.of(model));
        } catch (dev.catena.api.ModelFormatException e) {
            return directory;
        }
    }

    /** Servers of a model with this file name but other content, named in a no-route error. */
    private static String otherModels(Directory directory, String id, String name) {
        try {
            var others = directory.allServers().entrySet().stream()
                    .filter(e -> !e.getKey().equals(id))
                    .flatMap(e -> e.getValue().stream())
                    .filter(r -> r.modelName().equals(name))
                    .map(r -> r.address() + " (model id " + r.modelId().substring(0, Math.min(12, r.modelId().length())) + "...)")
                    .toList();
            return others.isEmpty() ? "" : "; servers of another model named " + name + " (not used: other metadata or tensor types than "
                    + "this client's, model id " + id.substring(0, Math.min(12, id.length())) + "...): " + String.join(", ", others);
        } catch (RuntimeException e) {
            return "";
        }
    }

    /** The model's human-readable name: its file name. */
    public static String modelName(Path model) {
        return model.getFileName().toString();
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
            try {
                client.close();
            } finally {
                directory.close();
            }
        }
    }
}

package dev.catena.core.client;

import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Generator;
import dev.catena.transport.proto.DType;
import dev.catena.transport.spi.Transport;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Generation over a swarm: the client head here, the blocks on the servers at {@code peers}
 * (their spans must chain to cover the model), in push or relay mode.
 */
public final class SwarmInference implements AutoCloseable {
    private final SwarmClient client;
    private final ModelHead head;
    private final List<RemoteSession.Hop> route;
    private final String modelId;
    private final int nEmbd;

    private SwarmInference(SwarmClient client, ModelHead head, List<RemoteSession.Hop> route, String modelId, int nEmbd) {
        this.client = client;
        this.head = head;
        this.route = route;
        this.modelId = modelId;
        this.nEmbd = nEmbd;
    }

    /** The model id servers announce: the GGUF file's name. */
    public static String modelId(Path model) {
        return model.getFileName().toString();
    }

    public static SwarmInference open(SpanBackend backend, Path model, Transport transport, List<String> peers,
                                      SpanOptions headOptions, Duration timeout) {
        var info = backend.inspect(model);
        var client = new SwarmClient(transport, timeout);
        try {
            var route = Routes.fromPeers(client, peers, modelId(model), info.nLayer());
            return new SwarmInference(client, backend.openHead(model, headOptions), route, modelId(model), info.nEmbd());
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }

    public List<RemoteSession.Hop> route() {
        return route;
    }

    public SwarmClient client() {
        return client;
    }

    /** Opens sessions along the route for one generation, then closes them. */
    public Generator.Generation generate(String prompt, int n, SamplingParams sampling, RemoteSession.Mode mode, int maxLength,
                                         DType wireDtype, boolean stopAtEos, boolean keepLogits, IntConsumer onToken) {
        try (var session = RemoteSession.open(client, modelId, nEmbd, route, mode, maxLength, wireDtype,
                client.requestTimeout().multipliedBy(3))) {
            return Generator.generate(head, session::step, prompt, n, sampling, maxLength, stopAtEos, keepLogits, onToken);
        }
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

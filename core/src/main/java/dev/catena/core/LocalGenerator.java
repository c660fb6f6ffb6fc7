package dev.catena.core;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.SessionOptions;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.core.local.LocalInference;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A model run in this process: the client head and the blocks as one span, or as the spans a split
 * names, with hidden states handed between spans in F32 (any split gives bit-identical logits).
 * Build one with {@link Catena#local(Path)}.
 */
public final class LocalGenerator implements Generator {
    private final LocalInference inference;
    private final Engine engine;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private final String modelId;

    private LocalGenerator(LocalInference inference, String modelId, int context, int trainedContext, String chatTemplate,
                           SessionOptions.KvType kvType) {
        this.inference = inference;
        this.modelId = modelId;
        this.engine = new Engine(inference.head(), context, trainedContext, chatTemplate, maxLength -> {
            GenerationLoop.Session s = inference.openSession(new SessionOptions(maxLength, kvType));
            return new Engine.Opened() {
                @Override
                public float[] forwardLast(float[] hidden, int n, int position) {
                    return s.forwardLast(hidden, n, position);
                }

                @Override
                public void close() {
                    s.close();
                }
            };
        });
    }

    @Override
    public Generation generate(GenerationRequest request) {
        return engine.generate(request);
    }

    @Override
    public TokenStream stream(GenerationRequest request) {
        return engine.stream(request);
    }

    @Override
    public ChatSession openSession(int maxLength) {
        return engine.openSession(maxLength);
    }

    @Override
    public List<Integer> tokenize(String text, boolean bos) {
        return engine.tokenize(text, bos);
    }

    @Override
    public ChatPrompt chatPrompt(List<ChatMessage> messages) {
        return engine.chatPrompt(messages);
    }

    @Override
    public String detokenize(List<Integer> tokens) {
        return engine.detokenize(tokens);
    }

    /** {@inheritDoc} In process: one {@link SwarmStatus.State#LOCAL} entry per span, address {@code local}. */
    @Override
    public SwarmStatus status() {
        List<SwarmStatus.Session> sessions = engine.sessions();
        var spans = inference.ranges();
        List<SwarmStatus.Server> servers = spans.stream().map(r -> new SwarmStatus.Server("local", r, SwarmStatus.State.LOCAL,
                true, 0, 0, 0, 0, 0, sessions.size(), 0, 0, "")).toList();
        int blocks = spans.getLast().end();
        List<Integer> coverage = SwarmStatus.coverage(blocks, servers);
        return new SwarmStatus(modelId, blocks, java.time.Instant.now(), servers, coverage, SwarmStatus.gaps(coverage), sessions,
                List.of(), new SwarmStatus.Counters(0, 0, 0, sessions.size(), inference.kvBytesInUse()));
    }

    /** Closes what is still open, then the spans and the head. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        try {
            engine.close();
        } finally {
            inference.close();
        }
    }

    /** Builds a {@link LocalGenerator}; every setting has a default. */
    public static final class Builder extends GeneratorBuilder<Builder> {
        private List<BlockRange> split = List.of();
        private KvType kvType = KvType.F16;
        private String backend;
        private dev.catena.api.spi.SpanBackend spanBackend;

        Builder(Path model) {
            super(model);
        }

        /**
         * The spans to run, e.g. {@code "0:2,2:5"}; they must chain to cover every block (default: one span).
         *
         * @throws IllegalArgumentException when the text is not a list of {@code A:B}
         */
        public Builder split(String spans) {
            this.split = BlockRange.parseList(spans);
            return this;
        }

        /** The spans to run, as block ranges that chain to cover every block. */
        public Builder split(List<BlockRange> spans) {
            this.split = List.copyOf(spans);
            return this;
        }

        /** The KV cache's element type (default F16). */
        public Builder kvType(KvType kvType) {
            this.kvType = Objects.requireNonNull(kvType, "kvType");
            return this;
        }

        /** The span backend by name, e.g. {@code ffm} (default: the preferred one available). */
        public Builder backend(String name) {
            this.backend = name;
            return this;
        }

        /** A span backend instance (tests: a backend without natives). */
        Builder backend(dev.catena.api.spi.SpanBackend backend) {
            this.spanBackend = backend;
            return this;
        }

        /**
         * Loads the model.
         *
         * @throws IllegalArgumentException when the split does not chain over the model's blocks
         * @throws dev.catena.api.BackendUnavailableException when no span backend can run
         */
        public LocalGenerator build() {
            var spans = spanBackend != null ? spanBackend : Catena.spanBackend(backend);
            var inference = LocalInference.open(spans, model, split, device.options(threads));
            try {
                return new LocalGenerator(inference, model.getFileName().toString(), context, spans.inspect(model).nCtxTrain(), chatTemplate,
                        kvType.internal());
            } catch (IllegalArgumentException e) { // the chat template
                inference.close();
                throw e;
            }
        }
    }
}

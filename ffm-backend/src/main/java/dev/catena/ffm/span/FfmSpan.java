package dev.catena.ffm.span;

import dev.catena.api.BlockRange;
import dev.catena.api.ModelInfo;
import dev.catena.api.SpanInputException;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.Span;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.SpanSession;
import dev.catena.ffm.ggml.GgmlBackend;
import dev.catena.ffm.ggml.GraphRunner;
import dev.catena.ffm.gguf.GgufFile;
import dev.catena.ffm.model.ModelHparams;
import dev.catena.ffm.model.Weights;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import static dev.catena.ffm.internal.ggml_h.GGML_TYPE_F16;
import static dev.catena.ffm.internal.ggml_h.GGML_TYPE_F32;
import static dev.catena.ffm.internal.ggml_h.ggml_row_size;

/** Blocks {@code [start, end)} of a GGUF model on a ggml backend; sessions share its weights. */
public final class FfmSpan implements Span {
    private static final String ROPE_FREQS = "rope_freqs.weight";

    private final ModelInfo info;
    private final ModelHparams hparams;
    private final int start;
    private final int end;
    private final GgmlBackend backend;
    private final Weights weights;
    private final List<LayerWeights> layers;
    private final MemorySegment ropeFactors; // (nRot / 2) or null: Llama 3's frequency factors
    private final GraphRunner compute;
    private final Set<FfmSpanSession> sessions = ConcurrentHashMap.newKeySet();
    private final AtomicLong kvBytesInUse = new AtomicLong();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final String computeKind;

    private FfmSpan(ModelInfo info, ModelHparams hparams, int start, int end, GgmlBackend backend, Weights weights) {
        dev.catena.ffm.natives.MallocTrim.start();
        this.info = info;
        this.hparams = hparams;
        this.start = start;
        this.end = end;
        this.backend = backend;
        backend.computeRank(start); // spans early in a chain compute first (CpuComputeGate)
        this.weights = weights;
        List<LayerWeights> list = new ArrayList<>();
        for (int il = start; il < end; il++) {
            list.add(LayerWeights.of(weights, il));
        }
        this.layers = List.copyOf(list);
        this.ropeFactors = weights.find(ROPE_FREQS).orElse(null);
        this.compute = new GraphRunner(backend, BlockGraph.maxNodes(end - start));
        this.computeKind = backend.computeKind();
    }

    /**
     * @throws SpanInputException when {@code [start, end)} is empty or outside the model
     */
    public static FfmSpan open(Path model, int start, int end, SpanOptions options, Function<GgufFile, ModelInfo> describe) {
        GgufFile file = GgufFile.read(model);
        ModelHparams hp = ModelHparams.of(file);
        if (start < 0 || end > hp.nLayer() || start >= end) {
            throw new SpanInputException("span [" + start + ", " + end + ") is not a non-empty range of the model's "
                    + hp.nLayer() + " blocks [0, " + hp.nLayer() + ")");
        }
        List<String> names = new ArrayList<>();
        List<String> matrices = new ArrayList<>();
        for (int il = start; il < end; il++) {
            names.addAll(LayerWeights.names(il, n -> file.tensor(n).isPresent()));
            for (String m : LayerWeights.MATRICES) {
                matrices.add(LayerWeights.name(il, m));
            }
        }
        if (file.tensor(ROPE_FREQS).isPresent()) {
            names.add(ROPE_FREQS);
        }
        GgmlBackend backend = GgmlBackend.forDevice(options.device(), options.threads());
        try {
            Weights weights = Weights.load(file, names, matrices, backend);
            return new FfmSpan(describe.apply(file), hp, start, end, backend, weights);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
    }

    @Override
    public ModelInfo model() {
        return info;
    }

    @Override
    public int start() {
        return start;
    }

    @Override
    public int end() {
        return end;
    }

    @Override
    public long weightBytes() {
        return weights.bytes();
    }

    @Override
    public String device() {
        return backend.name();
    }

    @Override
    public String computeKind() {
        return computeKind;
    }

    ModelHparams hparams() {
        return hparams;
    }

    /** The weights of blocks {@code blocks}, which lie within the span. */
    List<LayerWeights> layers(BlockRange blocks) {
        return layers.subList(blocks.start() - start, blocks.end() - start);
    }

    MemorySegment ropeFactors() {
        return ropeFactors;
    }

    GraphRunner compute() {
        return compute;
    }

    GgmlBackend backend() {
        return backend;
    }

    /** KV bytes of the sessions open now: zero once every session is closed. */
    public long kvBytesInUse() {
        return kvBytesInUse.get();
    }

    public int openSessions() {
        return sessions.size();
    }

    @Override
    public SpanSession openSession(SessionOptions options) {
        if (closed.get()) {
            throw new IllegalStateException("span [" + start + ", " + end + ") is closed");
        }
        var session = new FfmSpanSession(this, options);
        sessions.add(session);
        kvBytesInUse.addAndGet(session.kvBytes());
        return session;
    }

    /** Single-token steps of sessions on the same blocks run as one graph ({@link BatchStepper}); the rest one by one. */
    @Override
    public List<dev.catena.api.spi.BatchStep.Result> forwardBatch(List<dev.catena.api.spi.BatchStep> steps) {
        if (closed.get()) {
            throw new IllegalStateException("span [" + start + ", " + end + ") is closed");
        }
        return BatchStepper.run(this, steps);
    }

    /** On the CPU, the span's threads' share of the processors ({@link GgmlBackend#awaitTurn}). */
    @Override
    public dev.catena.api.spi.ComputeTurn awaitComputeTurn() {
        return backend.awaitTurn();
    }

    /** Spans of earlier blocks in this process on the CPU computing, queued, or done within {@code withinNanos}. */
    @Override
    public boolean earlierSpansBusy(long withinNanos) {
        return backend.earlierRanksBusy(withinNanos);
    }

    @Override
    public long kvBytesFor(SessionOptions options) {
        int type = options.kvType() == SessionOptions.KvType.F16 ? GGML_TYPE_F16() : GGML_TYPE_F32();
        return 2L * options.blocksWithin(start, end).size() * ggml_row_size(type, hparams.nEmbdKvGqa()) * options.maxLength();
    }

    void released(FfmSpanSession session) {
        if (sessions.remove(session)) {
            kvBytesInUse.addAndGet(-session.kvBytes());
            dev.catena.ffm.natives.MallocTrim.request(); // its KV back to the system, not only to malloc
        }
    }

    /** Closes every open session, then frees the weights and the backend. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        for (FfmSpanSession s : List.copyOf(sessions)) {
            s.close();
        }
        try {
            compute.close();
        } finally {
            try {
                weights.close();
            } finally {
                backend.close();
            }
        }
    }
}

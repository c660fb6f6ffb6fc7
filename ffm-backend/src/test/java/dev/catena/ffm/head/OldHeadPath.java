package dev.catena.ffm.head;

import dev.catena.ffm.ggml.GgmlBackend;
import dev.catena.ffm.ggml.GraphRunner;
import dev.catena.ffm.gguf.GgufFile;
import dev.catena.ffm.model.ModelHparams;
import dev.catena.ffm.model.Weights;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * For {@code DecodeStepProfile}: the head's embedding and LM-head steps as FfmModelHead ran them before
 * graph reuse (a graph built and allocated per call, an arena and staging copies per call), with a
 * timer between phases. Uses only code that exists before and after the change, so one profile binary
 * runs against both builds.
 */
public final class OldHeadPath implements AutoCloseable {
    /** Nanoseconds per phase of the last call: build, alloc, inputs, compute, output (read back), rest. */
    public final long[] phases = new long[6];

    private final ModelHparams hp;
    private final GgmlBackend backend;
    private final Weights embeddings;
    private final Weights outputs;
    private final String outputName;
    private final GraphRunner runner;

    public OldHeadPath(Path model) {
        GgufFile file = GgufFile.read(model);
        hp = ModelHparams.of(file);
        outputName = file.tensor("output.weight").isPresent() ? "output.weight" : "token_embd.weight";
        backend = GgmlBackend.cpu(1);
        embeddings = Weights.load(file, List.of("token_embd.weight"), List.of(), backend);
        outputs = Weights.load(file, List.of("output_norm.weight", outputName), List.of(outputName), backend);
        runner = new GraphRunner(backend, 32);
    }

    public float[] embed(int[] tokens) {
        long t0 = System.nanoTime();
        long[] t = new long[5];
        float[] out = runner.run(ctx -> {
            var g = HeadGraphs.embed(ctx, embeddings.get("token_embd.weight"), tokens.length);
            t[0] = System.nanoTime();
            return g;
        }, (g, b) -> {
            t[1] = System.nanoTime();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment ids = arena.allocateFrom(ValueLayout.JAVA_INT, tokens);
                ggml_backend_tensor_set(g.ids(), ids, 0, ids.byteSize());
                t[2] = System.nanoTime();
                b.computeUngated(g.graph());
                t[3] = System.nanoTime();
                float[] r = stagedRead(g.output());
                t[4] = System.nanoTime();
                return r;
            }
        });
        record(t0, t, System.nanoTime());
        return out;
    }

    public float[] logits(float[] hidden) {
        long t0 = System.nanoTime();
        long[] t = new long[5];
        float[] out = runner.run(ctx -> {
            var g = HeadGraphs.logits(ctx, outputs.get("output_norm.weight"), outputs.get(outputName), hp.rmsEps(),
                    hp.nEmbd(), 1, 1);
            t[0] = System.nanoTime();
            return g;
        }, (g, b) -> {
            t[1] = System.nanoTime();
            try (Arena arena = Arena.ofConfined()) {
                ggml_backend_tensor_set(g.hidden(), arena.allocateFrom(ValueLayout.JAVA_FLOAT, hidden), 0,
                        (long) hidden.length * Float.BYTES);
                MemorySegment ids = arena.allocateFrom(ValueLayout.JAVA_INT, new int[]{0});
                ggml_backend_tensor_set(g.rows(), ids, 0, ids.byteSize());
                t[2] = System.nanoTime();
                b.computeUngated(g.graph());
                t[3] = System.nanoTime();
                float[] r = stagedRead(g.output());
                t[4] = System.nanoTime();
                return r;
            }
        });
        record(t0, t, System.nanoTime());
        return out;
    }

    /** GgmlBackend.readF32 as it was: an arena, a staging segment, a copy to the heap. */
    public static float[] stagedRead(MemorySegment tensor) {
        long bytes = ggml_nbytes(tensor);
        float[] r = new float[Math.toIntExact(bytes / 4)];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment staging = arena.allocate(bytes, 64);
            ggml_backend_tensor_get(tensor, staging, 0, bytes);
            MemorySegment.copy(staging, ValueLayout.JAVA_FLOAT, 0, r, 0, r.length);
        }
        return r;
    }

    private void record(long t0, long[] t, long end) {
        phases[0] = t[0] - t0;   // ggml_init + build
        phases[1] = t[1] - t[0]; // gallocr
        phases[2] = t[2] - t[1]; // arena + inputs
        phases[3] = t[3] - t[2]; // compute
        phases[4] = t[4] - t[3]; // read back
        phases[5] = end - t[4];  // arena close, ggml_free, lock
    }

    @Override
    public void close() {
        runner.close();
        outputs.close();
        embeddings.close();
        backend.close();
    }
}

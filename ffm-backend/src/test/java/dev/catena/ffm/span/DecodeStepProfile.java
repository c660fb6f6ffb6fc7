package dev.catena.ffm.span;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SpanOptions;
import dev.catena.api.spi.SpanSession;
import dev.catena.ffm.FfmSpanBackend;
import dev.catena.ffm.ggml.GgmlBackend;
import dev.catena.ffm.ggml.GraphRunner;
import dev.catena.ffm.head.OldHeadPath;
import dev.catena.ffm.llama.LlamaOracle;
import dev.catena.ffm.llama.OracleOptions;
import dev.catena.ffm.llama.WeightLoading;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * Where a decode step's time goes, 1 thread (not a test; run by hand, see BENCHMARKS.md):
 * <pre>java -cp ffm-backend/target/test-classes:bench/target/lib/* dev.catena.ffm.span.DecodeStepProfile GGUF [prefill decode rounds]</pre>
 * Per round, interleaved: (1) a replica of the step as FfmSpanSession and FfmModelHead ran it before graph
 * reuse, with a timer between phases; (2) the public API (head.embed, session.forward, head.logits) of
 * the build on the class path; (3) llama.cpp's llama_decode of one token, weights in memory. Prints the
 * median over all steps of each phase in microseconds (medians, so that preemption on a loaded machine
 * drops out), and the calling thread's CPU time per step of (2) and (3).
 */
public final class DecodeStepProfile {
    private static final String[] SPAN_PHASES = {"init+build", "gallocr", "arena+pos+cells", "mask", "tensor_set",
            "compute", "tensor_get", "rest"};
    private static final String[] HEAD_PHASES = {"init+build", "gallocr", "arena+inputs", "compute", "read", "rest"};

    public static void main(String[] args) {
        Path model = Path.of(args[0]);
        int prefill = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int decode = args.length > 2 ? Integer.parseInt(args[2]) : 256;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        int ctx = prefill + decode + 1;
        var backend = FfmSpanBackend.instance();
        int nLayer = backend.inspect(model).nLayer();
        int nVocab = backend.inspect(model).nVocab();
        int[] tokens = new Random(1).ints(ctx, 3, nVocab).toArray();
        int steps = rounds * decode;
        long[][] span = new long[SPAN_PHASES.length][steps];
        long[][] embed = new long[HEAD_PHASES.length][steps];
        long[][] logits = new long[HEAD_PHASES.length][steps];
        long[] oldTotal = new long[steps], apiEmbed = new long[steps], apiForward = new long[steps],
                apiLogits = new long[steps], apiTotal = new long[steps], llama = new long[steps];
        long oldCpu = 0, apiCpu = 0, llamaCpu = 0;
        try (ModelHead head = backend.openHead(model, SpanOptions.cpu(1));
             FfmSpan s = (FfmSpan) backend.openSpan(model, 0, nLayer, SpanOptions.cpu(1));
             OldHeadPath oldHead = new OldHeadPath(model);
             GraphRunner oldRunner = new GraphRunner(s.backend(), BlockGraph.maxNodes(nLayer));
             LlamaOracle oracle = LlamaOracle.open(model, new OracleOptions(ctx, 1, null, null, 0, 0, "cpu",
                     WeightLoading.IN_MEMORY))) {
            var hp = s.hparams();
            List<LayerWeights> layers = s.layers(new BlockRange(0, nLayer));
            for (int r = -1; r < rounds; r++) { // round -1 warms up
                // (1) the old path, phase by phase
                try (KvCache kv = new KvCache(hp, nLayer, ctx, GGML_TYPE_F16(), s.backend())) {
                    long[] ph = new long[SPAN_PHASES.length];
                    float[] last = oldStep(oldRunner, s, hp, layers, kv, oldHead.embed(Arrays.copyOf(tokens, prefill)),
                            prefill, 0, ph);
                    oldHead.logits(last);
                    long oldCpu0 = threadCpuNanos();
                    for (int i = 0; i < decode; i++) {
                        int at = (r < 0 ? 0 : r) * decode + i;
                        long t0 = System.nanoTime();
                        float[] x = oldHead.embed(new int[]{tokens[prefill + i]});
                        long[] e = oldHead.phases.clone();
                        float[] h = oldStep(oldRunner, s, hp, layers, kv, x, 1, prefill + i, ph);
                        oldHead.logits(h);
                        oldTotal[at] = System.nanoTime() - t0;
                        for (int p = 0; p < ph.length; p++) span[p][at] = ph[p];
                        for (int p = 0; p < e.length; p++) embed[p][at] = e[p];
                        for (int p = 0; p < e.length; p++) logits[p][at] = oldHead.phases[p];
                    }
                    if (r >= 0) oldCpu += threadCpuNanos() - oldCpu0;
                }
                // (2) the public API of the build under test
                try (SpanSession session = s.openSession(SessionOptions.of(ctx))) {
                    float[] h = session.forward(head.embed(Arrays.copyOf(tokens, prefill)), prefill, 0, true);
                    head.logits(h, 1, List.of(0));
                    long cpu0 = threadCpuNanos();
                    for (int i = 0; i < decode; i++) {
                        int at = (r < 0 ? 0 : r) * decode + i;
                        long t0 = System.nanoTime();
                        float[] x = head.embed(new int[]{tokens[prefill + i]});
                        long t1 = System.nanoTime();
                        float[] y = session.forward(x, 1, prefill + i, true);
                        long t2 = System.nanoTime();
                        head.logits(y, 1, List.of(0));
                        long t3 = System.nanoTime();
                        apiEmbed[at] = t1 - t0;
                        apiForward[at] = t2 - t1;
                        apiLogits[at] = t3 - t2;
                        apiTotal[at] = t3 - t0;
                    }
                    if (r >= 0) apiCpu += threadCpuNanos() - cpu0;
                }
                // (3) llama.cpp
                oracle.truncate(0);
                oracle.decode(Arrays.copyOf(tokens, prefill), 0);
                long cpu0 = threadCpuNanos();
                for (int i = 0; i < decode; i++) {
                    int at = (r < 0 ? 0 : r) * decode + i;
                    long t0 = System.nanoTime();
                    oracle.decode(new int[]{tokens[prefill + i]}, prefill + i);
                    llama[at] = System.nanoTime() - t0;
                }
                if (r >= 0) llamaCpu += threadCpuNanos() - cpu0;
                System.err.printf(Locale.ROOT, "round %d done%n", r);
            }
        }
        System.out.printf(Locale.ROOT, "model %s, prefill %d, decode %d x %d rounds, medians in us%n", model.getFileName(),
                prefill, decode, rounds);
        System.out.println("old path, span step:");
        for (int p = 0; p < SPAN_PHASES.length; p++) System.out.printf(Locale.ROOT, "  %-16s %8.2f%n", SPAN_PHASES[p], med(span[p]));
        System.out.println("old path, embed:");
        for (int p = 0; p < HEAD_PHASES.length; p++) System.out.printf(Locale.ROOT, "  %-16s %8.2f%n", HEAD_PHASES[p], med(embed[p]));
        System.out.println("old path, logits:");
        for (int p = 0; p < HEAD_PHASES.length; p++) System.out.printf(Locale.ROOT, "  %-16s %8.2f%n", HEAD_PHASES[p], med(logits[p]));
        System.out.printf(Locale.ROOT, "old path total           %8.2f   (thread CPU per step %.2f)%n", med(oldTotal),
                oldCpu / 1e3 / steps);
        System.out.printf(Locale.ROOT, "api embed                %8.2f%n", med(apiEmbed));
        System.out.printf(Locale.ROOT, "api forward              %8.2f%n", med(apiForward));
        System.out.printf(Locale.ROOT, "api logits               %8.2f%n", med(apiLogits));
        System.out.printf(Locale.ROOT, "api total                %8.2f   (thread CPU per step %.2f)%n", med(apiTotal),
                apiCpu / 1e3 / steps);
        System.out.printf(Locale.ROOT, "llama.cpp llama_decode   %8.2f   (thread CPU per step %.2f)%n", med(llama),
                llamaCpu / 1e3 / steps);
        System.out.printf(Locale.ROOT, "api / llama.cpp: median step %.3f, CPU %.3f; old path / llama.cpp: median step %.3f,"
                + " CPU %.3f%n", med(apiTotal) / med(llama), (double) apiCpu / llamaCpu, med(oldTotal) / med(llama),
                (double) oldCpu / llamaCpu);
    }

    /** FfmSpanSession.forward and run as they were before graph reuse (lastOnly), timed phase by phase. */
    static float[] oldStep(GraphRunner runner, FfmSpan s, dev.catena.ffm.model.ModelHparams hp,
                                   List<LayerWeights> layers, KvCache kv, float[] hidden, int n, int position, long[] ph) {
        int nKv = Math.min(kv.size(), Math.max(256, (position + n + 255) / 256 * 256));
        long t0 = System.nanoTime();
        long[] t = new long[7];
        float[] out = runner.run(ctx -> {
            var g = BlockGraph.build(ctx, hp, layers, kv, n, nKv, true, true, s.ropeFactors());
            t[0] = System.nanoTime();
            return g;
        }, (g, backend) -> {
            t[1] = System.nanoTime();
            try (Arena arena = Arena.ofConfined()) {
                ggml_backend_tensor_set(g.input(), arena.allocateFrom(ValueLayout.JAVA_FLOAT, hidden), 0, (long) hidden.length * 4);
                MemorySegment pos = arena.allocate(ValueLayout.JAVA_INT, n);
                MemorySegment cells = arena.allocate(ValueLayout.JAVA_LONG, n);
                for (int i = 0; i < n; i++) {
                    pos.setAtIndex(ValueLayout.JAVA_INT, i, position + i);
                    cells.setAtIndex(ValueLayout.JAVA_LONG, i, position + i);
                }
                t[2] = System.nanoTime();
                MemorySegment mask = arena.allocate((long) nKv * n * 2, 4);
                for (int i = 0; i < n; i++) {
                    int visible = position + i + 1;
                    for (int j = 0; j < nKv; j++) {
                        mask.setAtIndex(ValueLayout.JAVA_SHORT, (long) i * nKv + j, j < visible ? 0 : (short) 0xFC00);
                    }
                }
                t[3] = System.nanoTime();
                ggml_backend_tensor_set(g.positions(), pos, 0, pos.byteSize());
                ggml_backend_tensor_set(g.kvIndices(), cells, 0, cells.byteSize());
                ggml_backend_tensor_set(g.mask(), mask, 0, ggml_nbytes(g.mask()));
                ggml_backend_tensor_set(g.outputRows(), arena.allocateFrom(ValueLayout.JAVA_INT, n - 1), 0, Integer.BYTES);
                t[4] = System.nanoTime();
                backend.compute(g.graph());
                t[5] = System.nanoTime();
                float[] r = OldHeadPath.stagedRead(g.output());
                t[6] = System.nanoTime();
                return r;
            }
        });
        long end = System.nanoTime();
        ph[0] = t[0] - t0;
        ph[1] = t[1] - t[0];
        ph[2] = t[2] - t[1];
        ph[3] = t[3] - t[2];
        ph[4] = t[4] - t[3];
        ph[5] = t[5] - t[4];
        ph[6] = t[6] - t[5];
        ph[7] = end - t[6];
        return out;
    }

    /** This thread's CPU time (Linux: /proc/thread-self/schedstat), 0 elsewhere. */
    private static long threadCpuNanos() {
        try {
            return Long.parseLong(java.nio.file.Files.readString(Path.of("/proc/thread-self/schedstat")).split(" ")[0]);
        } catch (java.io.IOException | RuntimeException e) {
            return 0;
        }
    }

    private static double med(long[] v) {
        long[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2] / 1e3;
    }
}

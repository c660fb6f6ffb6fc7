package dev.catena.ffm.ggml;

import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SpanOptions;
import dev.catena.ffm.FfmSpanBackend;
import dev.catena.ffm.TestModels;
import dev.catena.ffm.natives.LlamaNatives;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A span's compute kind names what decides bit-equality; and (behind flags) the measurement of how far two
 * real ggml paths land apart on one input, which the spot checks' tolerance across kinds rests on (BENCHMARKS.md).
 */
class ComputeKindTest {

    @Test
    void aCpuSpanNamesTheBuildTheDeviceAndTheLoadedVariantsFeatures() {
        var backend = FfmSpanBackend.instance();
        try (var a = backend.openSpan(TestModels.stories260K(), 0, 2, SpanOptions.cpu(1));
             var b = backend.openSpan(TestModels.stories260K(), 2, 5, SpanOptions.cpu(2))) {
            String kind = a.computeKind();
            assertTrue(kind.startsWith("llama.cpp " + LlamaNatives.RELEASE + "/CPU/"), kind);
            assertTrue(kind.length() > ("llama.cpp " + LlamaNatives.RELEASE + "/CPU/").length(), "the variant's features: " + kind);
            assertEquals(kind, b.computeKind(), "one process, one variant: threads and blocks do not change the kind");
        }
    }

    /**
     * Writes every row of the outputs of all blocks of {@code catena.kind.model} on a fixed prompt and 16 greedy
     * steps to {@code catena.kind.dump} (kind, then n and floats per step): run once per variant directory
     * ({@code -Dcatena.llama.dir}), KV type ({@code catena.kind.kv}) or thread count, then compare the files.
     */
    @Test
    @EnabledIfSystemProperty(named = "catena.kind.dump", matches = ".+")
    void dumpHiddenStates() throws Exception {
        var backend = FfmSpanBackend.instance();
        Path model = Path.of(System.getProperty("catena.kind.model"));
        int threads = Integer.getInteger("catena.kind.threads", 1);
        var kv = SessionOptions.KvType.valueOf(System.getProperty("catena.kind.kv", "F16"));
        int nLayer = backend.inspect(model).nLayer();
        try (var head = backend.openHead(model, SpanOptions.cpu(threads)); var span = backend.openSpan(model, 0, nLayer, SpanOptions.cpu(threads));
             var session = span.openSession(new SessionOptions(256, kv));
             var out = new DataOutputStream(Files.newOutputStream(Path.of(System.getProperty("catena.kind.dump"))))) {
            out.writeUTF(span.computeKind());
            int[] tokens = head.tokenize("The spot check compares two servers that computed on the same input, and", true);
            int position = 0;
            for (int step = 0; step < 17; step++) {
                float[] hidden = session.forward(head.embed(tokens), tokens.length, position, false);
                out.writeInt(hidden.length);
                for (float v : hidden) out.writeFloat(v);
                position += tokens.length;
                int n = hidden.length / head.nEmbd();
                float[] logits = head.logits(hidden, n, List.of(n - 1));
                int best = 0;
                for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
                tokens = new int[]{best};
            }
        }
    }

    /**
     * Prints, per step, the worst row's max |a - b| / max(|a|, |b|) between the dumps {@code catena.kind.compare} (a,b),
     * and the worst row's relative L2 distance |a - b| / max(|a|, |b|) (norms of the row), the metric spot checks use
     * across kinds. Also, over the rows of a, how a lie that moves every element by one scale (max |a|) of the row
     * measures in L2 (sqrt(d) max|a| / |a|: the least such factor is how far the L2 metric tightens the max-abs one
     * against a spread lie) and how far one element may move in L2 ((|a| / max|a|): the largest such factor).
     */
    @Test
    @EnabledIfSystemProperty(named = "catena.kind.compare", matches = ".+,.+")
    void compareDumps() throws Exception {
        String[] files = System.getProperty("catena.kind.compare").split(",");
        int d = Integer.getInteger("catena.kind.nembd", 2048);
        try (var a = new DataInputStream(Files.newInputStream(Path.of(files[0])));
             var b = new DataInputStream(Files.newInputStream(Path.of(files[1])))) {
            System.out.println("A: " + a.readUTF() + "\nB: " + b.readUTF());
            List<String> steps = new ArrayList<>();
            List<String> stepsL2 = new ArrayList<>();
            double worst = 0;
            double worstL2 = 0;
            double spreadFactor = Double.POSITIVE_INFINITY;
            double oneElementFactor = 0;
            boolean identical = true;
            for (int step = 0; step < 17; step++) {
                int n = a.readInt();
                assertEquals(n, b.readInt());
                double stepWorst = 0;
                double stepWorstL2 = 0;
                for (int row = 0; row < n; row += d) {
                    double scale = 0, scaleA = 0, diff = 0, normA = 0, normB = 0, diffNorm = 0;
                    for (int i = 0; i < d; i++) {
                        float x = a.readFloat(), y = b.readFloat();
                        identical &= Float.floatToRawIntBits(x) == Float.floatToRawIntBits(y);
                        scale = Math.max(scale, Math.max(Math.abs(x), Math.abs(y)));
                        scaleA = Math.max(scaleA, Math.abs(x));
                        diff = Math.max(diff, Math.abs((double) x - y));
                        normA += (double) x * x;
                        normB += (double) y * y;
                        diffNorm += ((double) x - y) * ((double) x - y);
                    }
                    double norm = Math.sqrt(Math.max(normA, normB));
                    stepWorstL2 = Math.max(stepWorstL2, norm == 0 ? 0 : Math.sqrt(diffNorm) / norm);
                    stepWorst = Math.max(stepWorst, scale == 0 ? 0 : diff / scale);
                    if (normA > 0) {
                        spreadFactor = Math.min(spreadFactor, Math.sqrt(d) * scaleA / Math.sqrt(normA));
                        oneElementFactor = Math.max(oneElementFactor, Math.sqrt(normA) / scaleA);
                    }
                }
                steps.add(String.format("%.2e", stepWorst));
                stepsL2.add(String.format("%.2e", stepWorstL2));
                worst = Math.max(worst, stepWorst);
                worstL2 = Math.max(worstL2, stepWorstL2);
            }
            System.out.printf("bit-identical: %s; worst row relative difference %.3e (relative L2 %.3e); per step %s; L2 per step %s%n",
                    identical, worst, worstL2, steps, stepsL2);
            System.out.printf("rows of A: a lie moving every element by f of the row's max |a| measures >= %.1f f in L2;"
                    + " one element may move by up to %.2f x the tolerance of the row's max |a|%n", spreadFactor, oneElementFactor);
        }
    }
}

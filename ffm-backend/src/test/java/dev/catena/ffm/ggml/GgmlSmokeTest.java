package dev.catena.ffm.ggml;

import dev.catena.api.DeviceInfo;
import dev.catena.ffm.FfmSpanBackend;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static dev.catena.ffm.internal.ggml_h.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ggml through the bindings on the CPU backend, against plain Java arithmetic. */
class GgmlSmokeTest {
    static final long SEED = Long.getLong("catena.test.seed", 7L);

    @Test
    void listsBackendsAndACpuDevice() {
        var devices = FfmSpanBackend.instance().devices();
        assertTrue(devices.stream().map(DeviceInfo::type).anyMatch("cpu"::equals), devices.toString());
        assertTrue(ggml_backend_reg_count() >= 1, "at least the CPU backend registered");
    }

    @Test
    void matmulMatchesJava() {
        int k = 37, m = 11, n = 5; // odd sizes: no reliance on SIMD-friendly shapes
        var random = new Random(SEED);
        float[] a = randoms(random, k * m), b = randoms(random, k * n);
        try (var backend = GgmlBackend.cpu(2); var ctx = GgmlContext.create(3, 16)) {
            MemorySegment ta = ctx.newTensor(GGML_TYPE_F32(), k, m);
            MemorySegment tb = ctx.newTensor(GGML_TYPE_F32(), k, n);
            MemorySegment tc = ggml_mul_mat(ctx.handle(), ta, tb); // (m, n): c[j][i] = sum_l a[i][l] * b[j][l]
            MemorySegment graph = ctx.graphOf(16, tc);
            try (var buffer = backend.allocate(ctx)) {
                assertTrue(buffer.size() >= 4L * (k * m + k * n + m * n), "buffer holds all tensors");
                GgmlBackend.write(ta, a);
                GgmlBackend.write(tb, b);
                backend.compute(graph);
                float[] c = GgmlBackend.readF32(tc);
                for (int j = 0; j < n; j++) {
                    for (int i = 0; i < m; i++) {
                        double expected = 0;
                        for (int l = 0; l < k; l++) {
                            expected += (double) a[i * k + l] * b[j * k + l];
                        }
                        assertEquals(expected, c[j * m + i], 1e-4, "seed " + SEED + " c[" + j + "][" + i + "]");
                    }
                }
            }
        }
    }

    @Test
    void softmaxMatchesJava() {
        int cols = 29, rows = 3;
        var random = new Random(SEED);
        float[] x = randoms(random, cols * rows);
        try (var backend = GgmlBackend.cpu(1); var ctx = GgmlContext.create(2, 8)) {
            MemorySegment tx = ctx.newTensor(GGML_TYPE_F32(), cols, rows);
            MemorySegment ty = ggml_soft_max(ctx.handle(), tx);
            MemorySegment graph = ctx.graphOf(8, ty);
            try (var ignored = backend.allocate(ctx)) {
                GgmlBackend.write(tx, x);
                backend.compute(graph);
                float[] y = GgmlBackend.readF32(ty);
                for (int r = 0; r < rows; r++) {
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int c = 0; c < cols; c++) max = Math.max(max, x[r * cols + c]);
                    for (int c = 0; c < cols; c++) sum += Math.exp(x[r * cols + c] - max);
                    for (int c = 0; c < cols; c++) {
                        assertEquals(Math.exp(x[r * cols + c] - max) / sum, y[r * cols + c], 1e-6,
                                "seed " + SEED + " row " + r + " col " + c);
                    }
                }
            }
        }
    }

    @Test
    void useAfterCloseIsAClearError() {
        var ctx = GgmlContext.create(1, 1);
        ctx.close();
        ctx.close(); // idempotent
        var e = assertThrows(IllegalStateException.class, () -> ctx.newTensor(GGML_TYPE_F32(), 4));
        assertTrue(e.getMessage().contains("ggml context is already closed"), e.getMessage());
    }

    @Test
    void badShapesAreRefusedBeforeReachingGgml() {
        try (var ctx = GgmlContext.create(1, 1)) {
            assertThrows(IllegalArgumentException.class, () -> ctx.newTensor(GGML_TYPE_F32(), 1, 2, 3, 4, 5));
        }
        assertThrows(IllegalArgumentException.class, () -> GgmlBackend.cpu(0));
    }

    private static float[] randoms(Random random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (random.nextGaussian());
        return v;
    }
}

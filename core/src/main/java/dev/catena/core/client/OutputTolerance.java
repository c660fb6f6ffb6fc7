package dev.catena.core.client;

import dev.catena.core.protocol.Tensors;

/**
 * How close two servers of different compute kinds (backend build, device, CPU variant) must land on
 * the same input: for every row (token) of the output, the largest absolute difference of an element
 * divided by the row's largest absolute value (of either output) is at most epsilon ({@link #EPSILON}
 * by default). Measured (BENCHMARKS.md): two ggml CPU variants (AVX2 vs AVX-512 kernels) land 2.0e-2
 * apart over all 16 blocks of Llama 3.2 1B Q8_0, f16 vs f32 KV 3.1e-2; the default is about 3x that.
 * A lie that moves an element of a row by more than 10% of the row's scale is caught; one below is not.
 */
final class OutputTolerance {
    /** The largest relative (to the row's scale) difference accepted across compute kinds. */
    static final double EPSILON = 0.1;

    private OutputTolerance() {
    }

    /** Whether two hops answered the same input with outputs within {@code epsilon}; decodes both payloads. */
    static boolean agree(HopSession.Sent a, HopSession.Sent b, int nEmbd, double epsilon) {
        float[] x = Tensors.decode(a.output(), a.result().getHidden(), nEmbd);
        float[] y = Tensors.decode(b.output(), b.result().getHidden(), nEmbd);
        return x.length == y.length && worstRowDifference(x, y, nEmbd) <= epsilon;
    }

    /**
     * The largest, over rows of {@code d} elements, of max |x - y| / max(|x|, |y|) within the row; a row
     * of zeros in both is 0, a NaN anywhere (or where the other is not) is infinite.
     */
    static double worstRowDifference(float[] x, float[] y, int d) {
        if (x.length != y.length || x.length % d != 0) throw new IllegalArgumentException("outputs of " + x.length + " and " + y.length
                + " elements are not rows of " + d);
        double worst = 0;
        for (int row = 0; row < x.length; row += d) {
            double scale = 0;
            double diff = 0;
            for (int i = row; i < row + d; i++) {
                if (Float.isNaN(x[i]) != Float.isNaN(y[i]) || Float.isInfinite(x[i]) || Float.isInfinite(y[i])) {
                    if (Float.compare(x[i], y[i]) != 0) return Double.POSITIVE_INFINITY;
                    continue;
                }
                if (Float.isNaN(x[i])) continue; // both NaN: the same non-answer
                scale = Math.max(scale, Math.max(Math.abs(x[i]), Math.abs(y[i])));
                diff = Math.max(diff, Math.abs((double) x[i] - y[i]));
            }
            if (diff > 0) worst = Math.max(worst, diff / scale);
        }
        return worst;
    }
}

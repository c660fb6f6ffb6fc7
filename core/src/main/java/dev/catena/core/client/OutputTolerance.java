package dev.catena.core.client;

import dev.catena.core.protocol.Tensors;

/**
 * How close two servers of different compute kinds (backend build, device, CPU variant) must land on the same
 * input. Every row (token) of the output must be within epsilon ({@link #EPSILON} by default) two ways:
 * <ul>
 * <li>relative L2 distance, |x - y| / max(|x|, |y|) over the row's norms. Hidden states have a few outlier
 * elements far above the rest, so a bound relative to the row's largest element alone lets a liar move every
 * ordinary element by a tenth of the outlier; in L2 such a lie adds up over all elements (over Llama 3.2 1B's
 * rows, moving every element by f of the row's largest measures at least 3.2 f);</li>
 * <li>largest element difference, max |x - y| / max(max |x|, max |y|). In L2 one element may move by up to the
 * row's norm times epsilon (up to 14x the largest element times epsilon over those rows): this bound keeps a
 * lie concentrated in one element as small as before.</li>
 * </ul>
 * Measured (BENCHMARKS.md) over all 16 blocks of Llama 3.2 1B Q8_0: ggml's AVX2 against its AVX-512 kernels
 * land 1.8e-2 apart in L2 (2.0e-2 largest element), f16 against f32 KV 2.6e-2 (3.1e-2); the default is 3x to 4x that.
 */
final class OutputTolerance {
    /** The largest relative difference (in both measures) accepted across compute kinds. */
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
     * The largest, over rows of {@code d} elements, of the row's relative L2 distance and its largest element
     * difference relative to its largest element (either output's); a row of zeros in both is 0, a NaN or an
     * infinity where the other output differs is infinite. Symmetric in x and y.
     */
    static double worstRowDifference(float[] x, float[] y, int d) {
        if (x.length != y.length || x.length % d != 0) throw new IllegalArgumentException("outputs of " + x.length + " and " + y.length
                + " elements are not rows of " + d);
        double worst = 0;
        for (int row = 0; row < x.length; row += d) {
            double scale = 0;
            double diff = 0;
            double normX = 0;
            double normY = 0;
            double diffNorm = 0;
            for (int i = row; i < row + d; i++) {
                if (Float.isNaN(x[i]) != Float.isNaN(y[i]) || Float.isInfinite(x[i]) || Float.isInfinite(y[i])) {
                    if (Float.compare(x[i], y[i]) != 0) return Double.POSITIVE_INFINITY;
                    continue;
                }
                if (Float.isNaN(x[i])) continue; // both NaN: the same non-answer
                double delta = (double) x[i] - y[i];
                scale = Math.max(scale, Math.max(Math.abs(x[i]), Math.abs(y[i])));
                diff = Math.max(diff, Math.abs(delta));
                normX += (double) x[i] * x[i];
                normY += (double) y[i] * y[i];
                diffNorm += delta * delta;
            }
            if (diff > 0) worst = Math.max(worst, Math.max(diff / scale, Math.sqrt(diffNorm / Math.max(normX, normY))));
        }
        return worst;
    }
}

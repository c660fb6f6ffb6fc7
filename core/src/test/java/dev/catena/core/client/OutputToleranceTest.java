package dev.catena.core.client;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OutputToleranceTest {
    static final long SEED = 77;

    @Test
    void rowsAreComparedRelativeToTheirOwnScale() {
        var random = new SplittableRandom(SEED);
        int d = 64;
        float[] x = new float[3 * d];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian() * (i < d ? 1000 : 1); // row 0 is 1000x larger
        float[] y = x.clone();
        assertEquals(0, OutputTolerance.worstRowDifference(x, y, d));
        y[d + 5] += (float) (0.5 * OutputTolerance.EPSILON * Math.abs(max(x, d, 2 * d))); // half the tolerance, in a small row
        double w = OutputTolerance.worstRowDifference(x, y, d);
        assertTrue(w > 0.4 * OutputTolerance.EPSILON && w <= OutputTolerance.EPSILON, "seed " + SEED + ": " + w);
        y[2 * d + 1] += (float) (3 * OutputTolerance.EPSILON * max(x, 2 * d, 3 * d)); // 3x in another small row: a large row cannot hide it
        assertTrue(OutputTolerance.worstRowDifference(x, y, d) > OutputTolerance.EPSILON, "seed " + SEED);
    }

    /** A hidden-state-like row: Gaussian elements of scale 1 and three outliers of 60, the shape real rows have. */
    private static float[] rowsWithOutliers(SplittableRandom random, int rows, int d) {
        float[] x = new float[rows * d];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        for (int row = 0; row < x.length; row += d) for (int k = 0; k < 3; k++) x[row + random.nextInt(d)] = (float) (random.nextBoolean() ? 60 : -60);
        return x;
    }

    @Test
    void honestRoundingNoiseAcrossKindsPasses() {
        // Measured between ggml paths over Llama 3.2 1B (BENCHMARKS.md): up to 2.6e-2 in L2, 3.1e-2 largest element.
        var random = new SplittableRandom(SEED);
        int d = 2048;
        float[] x = rowsWithOutliers(random, 4, d);
        float[] y = x.clone();
        for (int row = 0; row < y.length; row += d) {
            double rms = Math.sqrt(sumOfSquares(x, row, row + d) / d);
            for (int i = row; i < row + d; i++) y[i] += (float) (3e-2 * rms * random.nextGaussian());
        }
        double w = OutputTolerance.worstRowDifference(x, y, d);
        assertTrue(w > 2e-2 && w <= OutputTolerance.EPSILON, "seed " + SEED + ": " + w);
        assertEquals(w, OutputTolerance.worstRowDifference(y, x, d), 1e-12, "symmetric");
    }

    @Test
    void aLieHiddenUnderTheOutliersFails() {
        // Every ordinary element moved by 9% of the row's outlier: within 10% of the row's largest element, which the
        // largest-element bound alone accepted, but it adds up in L2.
        var random = new SplittableRandom(SEED);
        int d = 2048;
        float[] x = rowsWithOutliers(random, 2, d);
        float[] y = x.clone();
        for (int i = 0; i < y.length; i++) if (Math.abs(x[i]) < 60) y[i] += (float) ((random.nextBoolean() ? 0.09 : -0.09) * 60);
        assertTrue(largestElementDifference(x, y, d) <= OutputTolerance.EPSILON, "the old measure let it through");
        double w = OutputTolerance.worstRowDifference(x, y, d);
        assertTrue(w > 5 * OutputTolerance.EPSILON, "seed " + SEED + ": " + w);
    }

    @Test
    void aLieConcentratedInOneElementStillFailsWhereL2WouldDiluteIt() {
        // A row without outliers: one element moved by half the row's largest element is small against the row's norm.
        var random = new SplittableRandom(SEED);
        int d = 2048;
        float[] x = new float[d];
        for (int i = 0; i < d; i++) x[i] = (float) random.nextGaussian();
        float[] y = x.clone();
        y[7] += (float) (0.5 * max(x, 0, d));
        assertTrue(Math.sqrt(sumOfSquares(diff(x, y), 0, d) / sumOfSquares(x, 0, d)) < OutputTolerance.EPSILON, "L2 alone would pass it");
        assertTrue(OutputTolerance.worstRowDifference(x, y, d) > 4 * OutputTolerance.EPSILON, "seed " + SEED);
    }

    @Test
    void aNanOrInfinityWhereTheOtherHasANumberIsNoAgreement() {
        float[] x = {1, 2, 3, 4};
        float[] y = {1, 2, Float.NaN, 4};
        assertEquals(Double.POSITIVE_INFINITY, OutputTolerance.worstRowDifference(x, y, 4));
        y[2] = Float.POSITIVE_INFINITY;
        assertEquals(Double.POSITIVE_INFINITY, OutputTolerance.worstRowDifference(x, y, 4));
        assertThrows(IllegalArgumentException.class, () -> OutputTolerance.worstRowDifference(x, new float[3], 4));
    }

    private static double sumOfSquares(float[] v, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) s += (double) v[i] * v[i];
        return s;
    }

    private static float[] diff(float[] x, float[] y) {
        float[] d = new float[x.length];
        for (int i = 0; i < x.length; i++) d[i] = x[i] - y[i];
        return d;
    }

    /** The former measure alone: the worst row's max |x - y| over its largest element. */
    private static double largestElementDifference(float[] x, float[] y, int d) {
        double worst = 0;
        for (int row = 0; row < x.length; row += d) {
            worst = Math.max(worst, max(diff(x, y), row, row + d) / Math.max(max(x, row, row + d), max(y, row, row + d)));
        }
        return worst;
    }

    private static double max(float[] v, int from, int to) {
        double m = 0;
        for (int i = from; i < to; i++) m = Math.max(m, Math.abs(v[i]));
        return m;
    }
}

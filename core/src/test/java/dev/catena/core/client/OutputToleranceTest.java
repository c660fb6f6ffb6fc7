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

    @Test
    void aNanOrInfinityWhereTheOtherHasANumberIsNoAgreement() {
        float[] x = {1, 2, 3, 4};
        float[] y = {1, 2, Float.NaN, 4};
        assertEquals(Double.POSITIVE_INFINITY, OutputTolerance.worstRowDifference(x, y, 4));
        y[2] = Float.POSITIVE_INFINITY;
        assertEquals(Double.POSITIVE_INFINITY, OutputTolerance.worstRowDifference(x, y, 4));
        assertThrows(IllegalArgumentException.class, () -> OutputTolerance.worstRowDifference(x, new float[3], 4));
    }

    private static double max(float[] v, int from, int to) {
        double m = 0;
        for (int i = from; i < to; i++) m = Math.max(m, Math.abs(v[i]));
        return m;
    }
}

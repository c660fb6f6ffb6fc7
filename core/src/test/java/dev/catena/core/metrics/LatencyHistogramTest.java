package dev.catena.core.metrics;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LatencyHistogramTest {

    @Test
    void percentilesAreWithinOneThirtySecondOfTheExactOnes() {
        long seed = System.nanoTime();
        var random = new SplittableRandom(seed);
        var h = new LatencyHistogram();
        long[] values = new long[20_000];
        for (int i = 0; i < values.length; i++) {
            // log-uniform from 1 ns to about 17 s: every scale the buckets cover
            values[i] = (long) Math.exp(random.nextDouble() * Math.log(1L << 34));
            h.record(values[i]);
        }
        Arrays.sort(values);
        assertEquals(values.length, h.count());
        for (double q : new double[]{0.01, 0.1, 0.5, 0.9, 0.99, 1.0}) {
            long exact = values[(int) Math.ceil(q * values.length) - 1];
            long got = h.percentile(q);
            assertTrue(Math.abs(got - exact) <= Math.max(1, exact / 32.0), "seed " + seed + ", q " + q + ": " + got + " vs " + exact);
        }
    }

    @Test
    void bucketsAreContiguousAndTheirMiddlesInside() {
        for (long v = 0; v < 1 << 16; v++) {
            int i = LatencyHistogram.index(v);
            assertTrue(i == LatencyHistogram.index(Math.max(0, v - 1)) || i == LatencyHistogram.index(v - 1) + 1, "at " + v);
            assertEquals(i, LatencyHistogram.index(LatencyHistogram.middle(i)), "middle of the bucket of " + v);
        }
        assertTrue(LatencyHistogram.index(Long.MAX_VALUE) < (64 - 4) * 16);
    }

    @Test
    void emptyResetAndNegativeDurations() {
        var h = new LatencyHistogram();
        assertEquals(0, h.percentile(0.5));
        h.record(-5); // clock skew between threads: counted as 0
        h.record(1_000_000);
        assertEquals(2, h.count());
        assertEquals(0, h.percentile(0.5));
        h.reset();
        assertEquals(0, h.count());
        assertThrows(IllegalArgumentException.class, () -> h.percentile(0));
        assertThrows(IllegalArgumentException.class, () -> h.percentile(1.5));
    }
}

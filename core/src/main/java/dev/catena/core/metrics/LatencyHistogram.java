package dev.catena.core.metrics;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Durations in nanoseconds counted in fixed log-linear buckets, as HdrHistogram does with 16
 * sub-buckets per power of two: a percentile is within 1/32 of the true value (the bucket's middle).
 * Recording is one atomic increment and allocates nothing, so it can sit on a step's hot path.
 * Thread-safe; a percentile read while others record sees a consistent-enough snapshot.
 */
public final class LatencyHistogram {
    private static final int SUB_BITS = 4;
    private static final int SUB = 1 << SUB_BITS;
    /** Enough for every non-negative long: exponents 4..62 of 16 sub-buckets each, after 16 exact ones. */
    private static final int BUCKETS = (64 - SUB_BITS) * SUB;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);

    /** Counts one duration; a negative one (clock skew between threads) counts as 0. */
    public void record(long nanos) {
        counts.incrementAndGet(index(Math.max(0, nanos)));
    }

    static int index(long v) {
        if (v < SUB) return (int) v;
        int exp = 63 - Long.numberOfLeadingZeros(v);
        int sub = (int) ((v >>> (exp - SUB_BITS)) & (SUB - 1));
        return (exp - SUB_BITS + 1) * SUB + sub;
    }

    /** The middle of bucket {@code i}, in nanoseconds. */
    static long middle(int i) {
        if (i < SUB) return i;
        int exp = i / SUB + SUB_BITS - 1;
        int shift = exp - SUB_BITS;
        long lower = (long) (SUB + i % SUB) << shift;
        return lower + ((1L << shift) >> 1);
    }

    /** How many durations were recorded. */
    public long count() {
        long n = 0;
        for (int i = 0; i < BUCKETS; i++) n += counts.get(i);
        return n;
    }

    /**
     * The {@code q} quantile ({@code 0 < q <= 1}, e.g. 0.5 for the median), in nanoseconds; 0 when nothing
     * was recorded.
     */
    public long percentile(double q) {
        if (!(q > 0 && q <= 1)) throw new IllegalArgumentException("a quantile is in (0, 1], got " + q);
        long[] snapshot = new long[BUCKETS];
        long n = 0;
        for (int i = 0; i < BUCKETS; i++) n += snapshot[i] = counts.get(i);
        if (n == 0) return 0;
        long rank = Math.max(1, (long) Math.ceil(q * n));
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += snapshot[i];
            if (seen >= rank) return middle(i);
        }
        return middle(BUCKETS - 1);
    }

    /** {@link #percentile} in milliseconds. */
    public double percentileMillis(double q) {
        return percentile(q) / 1e6;
    }

    /** Forgets every duration, e.g. after a benchmark's warm-up. */
    public void reset() {
        for (int i = 0; i < BUCKETS; i++) counts.set(i, 0);
    }
}

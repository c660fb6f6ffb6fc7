package dev.catena.ffm.testmodel;

import java.nio.charset.StandardCharsets;

/**
 * The random numbers of the test models: a function of (seed, tensor name, row) only, so a tensor does not
 * depend on the order tensors or rows are generated in, nor on the number of threads.
 *
 * <p>Each row is a SplitMix64 stream seeded from the row's key. Values are approximately normal: the
 * Irwin-Hall sum of four uniform 32-bit numbers, scaled to mean 0 and variance 1 exactly (tails end at
 * &plusmn;2&radic;3 = &plusmn;3.46). It uses only exactly rounded IEEE arithmetic (no log, sin or sqrt at
 * run time, unlike Box-Muller or Java's nextGaussian), so the same spec gives the same bytes on every JVM
 * and CPU.
 */
final class WeightRandom {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private static final double SQRT3 = 1.7320508075688772; // Math.sqrt(3), as a constant so it cannot vary
    private static final double TWO_POW_M32 = 0x1p-32;

    private long state;

    private WeightRandom(long state) {
        this.state = state;
    }

    /** A tensor's key: depends on the model seed and the tensor's name only. */
    static long tensorKey(long seed, String tensorName) {
        long h = 0xCBF29CE484222325L; // FNV-1a 64 over the UTF-8 name
        for (byte b : tensorName.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * 0x100000001B3L;
        }
        return mix(mix(seed ^ 0x5DEECE66DL) ^ h);
    }

    /** The stream of row {@code row} of the tensor with key {@code tensorKey}. */
    static WeightRandom forRow(long tensorKey, long row) {
        return new WeightRandom(mix(tensorKey + (row + 1) * GOLDEN));
    }

    long nextLong() {
        return mix(state += GOLDEN);
    }

    /** Approximately standard normal (see the class comment). */
    double nextNormal() {
        long a = nextLong(), b = nextLong();
        double sum = (double) (a >>> 32) + (double) (a & 0xFFFFFFFFL) + (double) (b >>> 32) + (double) (b & 0xFFFFFFFFL);
        return (sum * TWO_POW_M32 - 2.0) * SQRT3;
    }

    /** Fills {@code out[0..n)} with mean + std * normal, rounded to float. */
    void fill(float[] out, int n, double mean, double std) {
        for (int i = 0; i < n; i++) {
            out[i] = (float) (mean + std * nextNormal());
        }
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}

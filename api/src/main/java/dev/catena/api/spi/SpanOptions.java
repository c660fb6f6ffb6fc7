package dev.catena.api.spi;

/**
 * How a span or head is placed.
 *
 * @param threads CPU threads for compute (>= 1)
 * @param device  {@code cpu}, {@code cuda} (the first GPU; fails when there is none) or {@code auto}
 *                (a GPU when one is present, else the CPU)
 */
public record SpanOptions(int threads, String device) {
    public SpanOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (device == null) {
            device = "auto";
        }
        if (!device.equals("cpu") && !device.equals("cuda") && !device.equals("auto")) {
            throw new IllegalArgumentException("device must be cpu, cuda or auto, got '" + device + "'");
        }
    }

    public static SpanOptions cpu(int threads) {
        return new SpanOptions(threads, "cpu");
    }
}

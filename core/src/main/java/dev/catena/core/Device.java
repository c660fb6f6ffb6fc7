package dev.catena.core;

import dev.catena.api.spi.SpanOptions;

/** Where a span or the client head computes. */
public enum Device {
    /** The CPU. */
    CPU,
    /** The first CUDA GPU; opening fails when there is none. */
    CUDA,
    /** A GPU when one is present, else the CPU. */
    AUTO;

    SpanOptions options(int threads) {
        return new SpanOptions(threads, name().toLowerCase(java.util.Locale.ROOT));
    }
}

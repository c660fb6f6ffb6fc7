package dev.catena.core;

import dev.catena.api.spi.SessionOptions;

/** Element type of a local KV cache. */
public enum KvType {
    /** Half precision with flash attention, as llama.cpp uses on the CPU by default. */
    F16,
    /** 32-bit floats with plain attention: the closest match to exact arithmetic. */
    F32;

    SessionOptions.KvType internal() {
        return this == F16 ? SessionOptions.KvType.F16 : SessionOptions.KvType.F32;
    }
}

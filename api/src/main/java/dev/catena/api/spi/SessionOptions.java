package dev.catena.api.spi;

import dev.catena.api.SpanInputException;

/**
 * @param maxLength tokens the KV cache holds
 * @param kvType    element type of the KV cache
 */
public record SessionOptions(int maxLength, KvType kvType) {
    public SessionOptions {
        if (maxLength <= 0) {
            throw new SpanInputException("maxLength must be positive, got " + maxLength);
        }
        if (kvType == null) {
            kvType = KvType.F16;
        }
    }

    public static SessionOptions of(int maxLength) {
        return new SessionOptions(maxLength, KvType.F16);
    }

    /** Element type of the KV cache: F16 as llama.cpp uses by default, F32 for the closest match to exact arithmetic. */
    public enum KvType { F16, F32 }
}

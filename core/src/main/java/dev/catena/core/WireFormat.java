package dev.catena.core;

import dev.catena.transport.proto.DType;

/** The element type of hidden states on the wire between client and servers. */
public enum WireFormat {
    /** 32-bit floats: outputs bit-identical to a single-process run. */
    F32,
    /** IEEE half precision: half the bytes. */
    F16,
    /** bfloat16: half the bytes, F32's range. */
    BF16;

    DType internal() {
        return switch (this) {
            case F32 -> DType.F32;
            case F16 -> DType.F16;
            case BF16 -> DType.BF16;
        };
    }
}

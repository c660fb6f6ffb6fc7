package dev.catena.ffm.ggml;

import dev.catena.api.CatenaException;

/** A ggml call that failed: carries ggml's status code and what was being done. */
public final class GgmlException extends CatenaException {
    private final int status;

    public GgmlException(String what, int status) {
        super(what + " failed with ggml status " + status);
        this.status = status;
    }

    public GgmlException(String what) {
        super(what);
        this.status = Integer.MIN_VALUE;
    }

    /** {@code raw}, or a GgmlException saying that {@code what} returned NULL (ggml's way to fail: no memory, no device). */
    public static java.lang.foreign.MemorySegment nonNull(java.lang.foreign.MemorySegment raw, String what) {
        if (raw.equals(java.lang.foreign.MemorySegment.NULL)) {
            throw new GgmlException(what + " failed: ggml returned NULL (out of memory, or no such device)");
        }
        return raw;
    }

    /** ggml's {@code enum ggml_status}, or {@link Integer#MIN_VALUE} when the call returned NULL instead. */
    public int status() {
        return status;
    }
}

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

    /** ggml's {@code enum ggml_status}, or {@link Integer#MIN_VALUE} when the call returned NULL instead. */
    public int status() {
        return status;
    }
}

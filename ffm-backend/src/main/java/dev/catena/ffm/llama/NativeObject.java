package dev.catena.ffm.llama;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * One llama.cpp object and its C destructor, bound to an arena of its own (the same scheme as
 * {@code dev.catena.ffm.ggml.NativeHandle}): closing runs the destructor exactly once, and any use
 * after that is an {@link IllegalStateException}, never a dangling pointer.
 */
final class NativeObject implements AutoCloseable {
    private final String what;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment segment;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** {@code raw} must not be NULL: callers check that first, to throw the exception that fits. */
    NativeObject(String what, MemorySegment raw, Consumer<MemorySegment> destructor) {
        if (raw.equals(MemorySegment.NULL)) {
            arena.close();
            throw new IllegalArgumentException(what + ": NULL");
        }
        this.what = what;
        this.segment = raw.reinterpret(arena, destructor);
    }

    MemorySegment get() {
        if (closed.get()) {
            throw new IllegalStateException(what + " is already closed");
        }
        return segment;
    }

    boolean isClosed() {
        return closed.get();
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            arena.close(); // runs the destructor
        }
    }
}

package dev.catena.ffm.natives;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * One native object and its C destructor, bound to an arena of its own: closing runs the
 * destructor exactly once, and any use after that is a clear {@link IllegalStateException}, never a
 * dangling pointer. Shared arenas are created per object (not per call), so closing is rare.
 */
public final class NativeHandle implements AutoCloseable {
    private final String what;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment segment;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** {@code raw} must not be NULL: callers check first, to throw the exception that says why. */
    public NativeHandle(String what, MemorySegment raw, Consumer<MemorySegment> destructor) {
        if (raw.equals(MemorySegment.NULL)) {
            arena.close();
            throw new IllegalArgumentException(what + ": NULL handle");
        }
        this.what = what;
        this.segment = raw.reinterpret(arena, destructor);
    }

    public MemorySegment get() {
        if (closed.get()) {
            throw new IllegalStateException(what + " is already closed");
        }
        return segment;
    }

    public boolean isClosed() {
        return closed.get();
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            arena.close(); // runs the destructor
        }
    }
}

package dev.catena.ffm.natives;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * One native object and its C destructor, bound to an arena of its own: closing runs the
 * destructor exactly once, and any use after that is a clear {@link IllegalStateException}, never a
 * dangling pointer. Shared arenas are created per object (not per call), so closing is rare.
 * Objects opened and closed en masse (a session's KV cache) use {@link #serializedByOwner} instead:
 * closing a shared arena stops every Java thread at a handshake.
 */
public final class NativeHandle implements AutoCloseable {
    private final String what;
    /** Null for a handle {@linkplain #serializedByOwner serialized by its owner}. */
    private final Arena arena;
    private final Consumer<MemorySegment> destructor;
    private final MemorySegment segment;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** {@code raw} must not be NULL: callers check first, to throw the exception that says why. */
    public NativeHandle(String what, MemorySegment raw, Consumer<MemorySegment> destructor) {
        this(what, raw, destructor, true);
    }

    private NativeHandle(String what, MemorySegment raw, Consumer<MemorySegment> destructor, boolean scoped) {
        if (raw.equals(MemorySegment.NULL)) {
            throw new IllegalArgumentException(what + ": NULL handle");
        }
        this.what = what;
        this.arena = scoped ? Arena.ofShared() : null;
        this.destructor = destructor;
        this.segment = scoped ? raw.reinterpret(arena, destructor) : raw;
    }

    /**
     * A handle whose owner never uses it concurrently with its close (a session's KV cache: every step and
     * the close hold the session's lock), so no arena needs to guard it: closing one costs a C call, not a
     * handshake with every thread. Issue 14's attack suite opened and closed some 300 sessions a second per
     * server, and those handshakes (two per session) slowed honest sessions' steps twofold. Use after close
     * is still an {@link IllegalStateException} from {@link #get}.
     */
    public static NativeHandle serializedByOwner(String what, MemorySegment raw, Consumer<MemorySegment> destructor) {
        return new NativeHandle(what, raw, destructor, false);
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
            if (arena != null) arena.close(); // runs the destructor
            else destructor.accept(segment);
        }
    }
}

package dev.catena.ffm.natives;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Gives the memory glibc's malloc holds free back to the system ({@code malloc_trim}): within a
 * second of a request, and every 5 s anyway, on one daemon thread started with the first span.
 * Session KV caches opened and closed en masse come and go in sizes that glibc serves from its heaps
 * once its dynamic mmap threshold has grown, and so do Netty's receive buffers; freed chunks in the
 * middle of a heap stay resident until trimmed. Issue 14's attack suite saw a server reach its
 * budgets plus 600 MB after an open flood. A no-op where {@code malloc_trim} does not exist (not glibc),
 * or with {@code -Dcatena.noMallocTrim=true}.
 */
public final class MallocTrim {
    private static final System.Logger LOG = System.getLogger(MallocTrim.class.getName());
    private static final MethodHandle TRIM = lookup();
    private static final AtomicBoolean REQUESTED = new AtomicBoolean();
    private static final AtomicBoolean STARTED = new AtomicBoolean();

    private MallocTrim() {
    }

    private static MethodHandle lookup() {
        Linker linker = Linker.nativeLinker();
        return linker.defaultLookup().find("malloc_trim")
                .map(address -> linker.downcallHandle(address, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG)))
                .orElse(null);
    }

    /** Starts the trimming thread once (in a process that hosts spans). */
    public static void start() {
        if (TRIM != null && !Boolean.getBoolean("catena.noMallocTrim") && STARTED.compareAndSet(false, true)) {
            Thread.ofPlatform().daemon().name("catena-malloc-trim").start(MallocTrim::loop);
        }
    }

    /** Asks for a trim within a second: much native memory was just freed. */
    public static void request() {
        REQUESTED.set(true);
    }

    private static void loop() {
        long last = System.nanoTime();
        while (true) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
            if (REQUESTED.getAndSet(false) || System.nanoTime() - last > 5_000_000_000L) {
                trim();
                last = System.nanoTime();
            }
        }
    }

    static void trim() {
        try {
            int released = (int) TRIM.invokeExact(0L);
            assert released >= 0;
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.WARNING, "malloc_trim failed", t);
        }
    }
}

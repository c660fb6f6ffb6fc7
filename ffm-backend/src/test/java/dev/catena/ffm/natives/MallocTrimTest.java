package dev.catena.ffm.natives;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Once started, glibc maps every large block on its own, also after freeing one: glibc's dynamic threshold
 * would have risen to the freed block's size, and served the next one from a heap, where it stays resident
 * until a trim once freed.
 */
class MallocTrimTest {
    private static final Linker LINKER = Linker.nativeLinker();
    /** struct mallinfo2: ten size_t; hblks (the blocks mapped on their own) is the fourth. */
    private static final MemoryLayout MALLINFO2 = MemoryLayout.structLayout(java.util.stream.Stream.of("arena", "ordblks", "smblks",
            "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost").map(ValueLayout.JAVA_LONG::withName)
            .toArray(MemoryLayout[]::new));

    private static MethodHandle find(String name, FunctionDescriptor d) {
        return LINKER.defaultLookup().find(name).map(a -> LINKER.downcallHandle(a, d)).orElse(null);
    }

    @Test
    void largeBlocksAreMappedOnTheirOwnAfterOneIsFreed() throws Throwable {
        MethodHandle mallinfo2 = find("mallinfo2", FunctionDescriptor.of(MALLINFO2));
        MethodHandle malloc = find("malloc", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        MethodHandle free = find("free", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        assumeTrue(mallinfo2 != null && !Boolean.getBoolean("catena.noMallocTrim"), "glibc 2.33 or later");
        MallocTrim.start();
        try (Arena arena = Arena.ofConfined()) {
            for (long size : new long[]{8 << 20, 8 << 20, MallocTrim.MMAP_THRESHOLD * 2, 8 << 20}) {
                long before = mapped(mallinfo2, arena);
                MemorySegment block = (MemorySegment) malloc.invokeExact(size);
                try {
                    assertEquals(before + 1, mapped(mallinfo2, arena), "a block of " + size + " bytes is mapped on its own");
                } finally {
                    free.invokeExact(block);
                }
            }
        }
    }

    private static long mapped(MethodHandle mallinfo2, Arena arena) throws Throwable {
        MemorySegment info = (MemorySegment) mallinfo2.invokeExact((java.lang.foreign.SegmentAllocator) arena);
        return info.getAtIndex(ValueLayout.JAVA_LONG, 3);
    }
}

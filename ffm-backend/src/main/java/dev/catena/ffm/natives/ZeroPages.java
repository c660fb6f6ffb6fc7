package dev.catena.ffm.natives;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Zeroes host memory the way the kernel does, not with stores: the whole pages inside a range are
 * handed back ({@code madvise(MADV_DONTNEED)}) and read as zero pages until first written, and only
 * the partial pages at its ends are cleared by hand. A session's KV cache must read zero where it was
 * never written (masked cells times a NaN would still be NaN), yet a session opened and never used
 * (issue 14's open flood, 600 a second per server) then costs neither the CPU to clear its cache nor
 * resident memory for it, and a used one only for the cells it fills. Linux only; elsewhere, or when
 * {@code madvise} refuses, {@link #zero} returns false and the caller clears the memory itself.
 */
public final class ZeroPages {
    private static final int MADV_DONTNEED = 4; // Linux's value, the only kernel this is used on
    private static final int SC_PAGESIZE = 30; // Linux's _SC_PAGESIZE
    private static final MethodHandle MADVISE = lookup();
    /** The kernel's page size (4 KiB on x86-64, 16 or 64 KiB elsewhere): madvise rounds to it. */
    private static final long PAGE = MADVISE == null ? 0 : pageSize();

    private ZeroPages() {
    }

    private static MethodHandle lookup() {
        // glibc's malloc on huge pages (a tunable): madvise would round a range's end down to a huge page,
        // and leave what lies between unzeroed; clear such memory by hand.
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")
                || String.valueOf(System.getenv("GLIBC_TUNABLES")).contains("hugetlb")) {
            return null;
        }
        Linker linker = Linker.nativeLinker();
        return linker.defaultLookup().find("madvise")
                .map(address -> linker.downcallHandle(address, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT)))
                .orElse(null);
    }

    private static long pageSize() {
        Linker linker = Linker.nativeLinker();
        try {
            MethodHandle sysconf = linker.downcallHandle(linker.defaultLookup().find("sysconf").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            long page = (long) sysconf.invokeExact(SC_PAGESIZE);
            return page > 0 && Long.bitCount(page) == 1 ? page : 0;
        } catch (Throwable t) {
            return 0;
        }
    }

    /**
     * Zeroes {@code bytes} of private anonymous memory (the process's own heap or mappings: malloc'd) at
     * {@code address}; false when it could not, having written nothing.
     */
    public static boolean zero(MemorySegment address, long bytes) {
        if (MADVISE == null || PAGE == 0) {
            return false;
        }
        if (bytes <= 0) {
            return true;
        }
        MemorySegment memory = address.reinterpret(bytes);
        long start = address.address();
        long firstPage = (start + PAGE - 1) & -PAGE;
        long endPage = (start + bytes) & -PAGE;
        if (endPage > firstPage) {
            try {
                int rc = (int) MADVISE.invokeExact(MemorySegment.ofAddress(firstPage), endPage - firstPage, MADV_DONTNEED);
                if (rc != 0) {
                    return false;
                }
            } catch (Throwable t) {
                return false;
            }
            memory.asSlice(0, firstPage - start).fill((byte) 0);
            memory.asSlice(endPage - start).fill((byte) 0);
        } else {
            memory.fill((byte) 0);
        }
        return true;
    }
}

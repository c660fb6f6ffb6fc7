package dev.catena.ffm.natives;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whole pages handed back read zero, the partial pages at the ends are cleared, and nothing outside is touched. */
@EnabledOnOs(OS.LINUX)
class ZeroPagesTest {

    @Test
    void aDirtyRangeReadsZeroAndItsNeighboursKeepTheirBytes() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(5 * 4096 + 300, 4096);
            for (long start : new long[]{0, 1, 4095, 4096, 1000}) {
                for (long bytes : new long[]{1, 100, 4096, 4097, 3 * 4096 + 17}) {
                    memory.fill((byte) 0x7f);
                    assertTrue(ZeroPages.zero(memory.asSlice(start), bytes));
                    for (long i = 0; i < memory.byteSize(); i++) {
                        byte expected = i >= start && i < start + bytes ? 0 : (byte) 0x7f;
                        assertEquals(expected, memory.get(ValueLayout.JAVA_BYTE, i),
                                "byte " + i + " after zeroing " + bytes + " bytes from " + start);
                    }
                }
            }
        }
    }
}

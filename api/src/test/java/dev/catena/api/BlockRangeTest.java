package dev.catena.api;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BlockRangeTest {

    @Test
    void evenSplitsSpreadTheRemainderAndDropNothing() {
        assertEquals(List.of(new BlockRange(0, 2), new BlockRange(2, 4), new BlockRange(4, 5)), BlockRange.even(5, 3));
        for (int n = 1; n <= 40; n++) {
            for (int k = 1; k <= n; k++) {
                var split = BlockRange.even(n, k);
                BlockRange.requireChain(split, n);
                int min = split.stream().mapToInt(BlockRange::size).min().orElseThrow();
                int max = split.stream().mapToInt(BlockRange::size).max().orElseThrow();
                assertTrue(max - min <= 1, n + " into " + k + ": " + split);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> BlockRange.even(3, 4));
    }

    @Test
    void parsesAndValidatesChains() {
        assertEquals(List.of(new BlockRange(0, 2), new BlockRange(2, 5)), BlockRange.parseList("0:2, 2:5"));
        var gap = assertThrows(IllegalArgumentException.class, () -> BlockRange.requireChain(BlockRange.parseList("0:2,3:5"), 5));
        assertEquals("blocks [2, 3) are not covered", gap.getMessage());
        var overlap = assertThrows(IllegalArgumentException.class, () -> BlockRange.requireChain(BlockRange.parseList("0:3,2:5"), 5));
        assertEquals("block range [2, 5) overlaps blocks before 3", overlap.getMessage());
        var shortChain = assertThrows(IllegalArgumentException.class, () -> BlockRange.requireChain(BlockRange.parseList("0:4"), 5));
        assertEquals("blocks [4, 5) are not covered", shortChain.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BlockRange.parseList("0-2"));
        assertThrows(IllegalArgumentException.class, () -> BlockRange.parseList("2:2"));
    }
}

package dev.catena.api;

import java.util.ArrayList;
import java.util.List;

/** Transformer blocks {@code [start, end)}. */
public record BlockRange(int start, int end) {
    public BlockRange {
        if (start < 0 || end <= start) {
            throw new IllegalArgumentException("block range [" + start + ", " + end + ") is empty or negative");
        }
    }

    public int size() {
        return end - start;
    }

    /** Parses {@code "0:2,2:5"}. */
    public static List<BlockRange> parseList(String text) {
        List<BlockRange> out = new ArrayList<>();
        for (String part : text.split(",")) {
            String[] ab = part.trim().split(":");
            if (ab.length != 2) {
                throw new IllegalArgumentException("'" + part + "' is not a block range like 0:2");
            }
            try {
                out.add(new BlockRange(Integer.parseInt(ab[0].trim()), Integer.parseInt(ab[1].trim())));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + part + "' is not a block range like 0:2");
            }
        }
        return List.copyOf(out);
    }

    /**
     * {@code n} blocks split into {@code parts} contiguous ranges as evenly as possible: the remainder
     * goes one block each to the first ranges, none is dropped.
     */
    public static List<BlockRange> even(int n, int parts) {
        if (parts < 1 || parts > n) {
            throw new IllegalArgumentException("cannot split " + n + " blocks into " + parts + " non-empty spans");
        }
        List<BlockRange> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < parts; i++) {
            int size = n / parts + (i < n % parts ? 1 : 0);
            out.add(new BlockRange(start, start + size));
            start += size;
        }
        return List.copyOf(out);
    }

    /**
     * Checks that {@code ranges} chain to cover {@code [0, n)} exactly, in order.
     *
     * @throws IllegalArgumentException naming the first gap, overlap or overhang
     */
    public static void requireChain(List<BlockRange> ranges, int n) {
        int next = 0;
        for (BlockRange r : ranges) {
            if (r.start() != next) {
                throw new IllegalArgumentException(r.start() > next
                        ? "blocks [" + next + ", " + r.start() + ") are not covered"
                        : "block range [" + r.start() + ", " + r.end() + ") overlaps blocks before " + next);
            }
            next = r.end();
        }
        if (next != n) {
            throw new IllegalArgumentException(next < n ? "blocks [" + next + ", " + n + ") are not covered"
                    : "the ranges end at " + next + " but the model has " + n + " blocks");
        }
    }

    @Override
    public String toString() {
        return start + ":" + end;
    }
}

package dev.catena.api.spi;

import dev.catena.api.BlockRange;
import dev.catena.api.SpanInputException;

/**
 * @param maxLength tokens the KV cache holds
 * @param kvType    element type of the KV cache
 * @param blocks    the blocks this session runs, within the span's; {@code null} for all of them
 *                  (a route may use part of a server's span)
 */
public record SessionOptions(int maxLength, KvType kvType, BlockRange blocks) {
    public SessionOptions {
        if (maxLength <= 0) {
            throw new SpanInputException("maxLength must be positive, got " + maxLength);
        }
        if (kvType == null) {
            kvType = KvType.F16;
        }
    }

    public SessionOptions(int maxLength, KvType kvType) {
        this(maxLength, kvType, null);
    }

    public static SessionOptions of(int maxLength) {
        return new SessionOptions(maxLength, KvType.F16);
    }

    /** The same options for blocks {@code blocks} of the span only. */
    public SessionOptions withBlocks(BlockRange blocks) {
        return new SessionOptions(maxLength, kvType, blocks);
    }

    /**
     * The blocks a session with these options runs on a span of {@code [start, end)}.
     *
     * @throws SpanInputException when {@link #blocks()} is not within the span
     */
    public BlockRange blocksWithin(int start, int end) {
        if (blocks == null) {
            return new BlockRange(start, end);
        }
        if (blocks.start() < start || blocks.end() > end) {
            throw new SpanInputException("blocks [" + blocks.start() + ", " + blocks.end() + ") are not within the span ["
                    + start + ", " + end + ")");
        }
        return blocks;
    }

    /** Element type of the KV cache: F16 as llama.cpp uses by default, F32 for the closest match to exact arithmetic. */
    public enum KvType { F16, F32 }
}

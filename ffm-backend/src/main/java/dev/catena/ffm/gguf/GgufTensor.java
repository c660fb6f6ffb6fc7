package dev.catena.ffm.gguf;

import java.util.Arrays;

/**
 * One entry of a GGUF tensor table.
 *
 * @param type     the ggml type id; {@code typeName} is ggml's name for it (e.g. {@code q4_K})
 * @param ne       shape in ggml order, 4 entries: ne[0] is the row length, unused dims are 1
 * @param offset   from the start of the file's data section
 * @param bytes    size of the data
 */
public record GgufTensor(String name, int type, String typeName, long[] ne, long offset, long bytes) {
    public GgufTensor {
        ne = ne.clone();
    }

    @Override
    public long[] ne() {
        return ne.clone();
    }

    @Override
    public String toString() {
        return name + " " + typeName + " " + Arrays.toString(ne) + " @" + offset + "+" + bytes;
    }
}

package dev.catena.ffm.gguf;

import java.util.List;

/**
 * A metadata array. String arrays (e.g. the vocabulary) keep their values; numeric arrays keep
 * only their type and length here, since nothing in Catena needs them as Java values yet.
 *
 * @param strings the values for string arrays, else null
 */
public record GgufArray(String elementType, long length, List<String> strings) {
}

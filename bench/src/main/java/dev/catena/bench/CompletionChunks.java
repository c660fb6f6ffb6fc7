package dev.catena.bench;

import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.json.JsonMapper;

import java.util.function.Consumer;

/**
 * Reads a streamed completion's events' data, as {@code bench http} times them: the text, when its first and last
 * non-empty pieces came, and the token count of the usage chunk. Each event is read with Jackson's streaming parser, as a client that
 * wants two fields does, rather than built into a tree: in a text completion chunk, {@code text} is only the choice's
 * and {@code completion_tokens} only the usage's.
 */
final class CompletionChunks implements Consumer<String> {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    final StringBuilder text = new StringBuilder();
    long first;
    long last;
    int tokens = -1;
    boolean done;

    @Override
    public void accept(String data) {
        if (done) return;
        if (data.equals("[DONE]")) {
            done = true;
            return;
        }
        try (JsonParser p = JSON.createParser(data)) {
            for (String name = p.nextName(); p.currentToken() != null; name = p.nextName()) {
                if (name == null) continue; // not a property: a value, or the start or end of an object or array
                if (name.equals("text") && p.nextToken() == JsonToken.VALUE_STRING) {
                    String piece = p.getString();
                    if (!piece.isEmpty()) {
                        last = System.nanoTime();
                        if (first == 0) first = last;
                    }
                    text.append(piece);
                } else if (name.equals("completion_tokens") && p.nextToken() == JsonToken.VALUE_NUMBER_INT) {
                    tokens = p.getIntValue();
                }
            }
        }
    }
}

package dev.catena.bench;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.function.Consumer;

/**
 * Reads a streamed completion's events' data, as {@code bench http} times them: the text, when its first non-empty piece
 * came, and the token count of the usage chunk.
 */
final class CompletionChunks implements Consumer<String> {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    final StringBuilder text = new StringBuilder();
    long first;
    int tokens = -1;
    boolean done;

    @Override
    public void accept(String data) {
        if (done) return;
        if (data.equals("[DONE]")) {
            done = true;
            return;
        }
        JsonNode chunk = JSON.readTree(data);
        JsonNode choices = chunk.path("choices");
        if (!choices.isEmpty()) {
            String piece = choices.get(0).path("text").asString("");
            if (first == 0 && !piece.isEmpty()) first = System.nanoTime();
            text.append(piece);
        }
        if (chunk.hasNonNull("usage")) tokens = chunk.get("usage").get("completion_tokens").asInt();
    }
}

package dev.catena.openai;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A pre-encoded token chunk is byte for byte what Jackson writes for the same chunk, whatever its text holds, framed as
 * one HTTP chunk of its length in bytes.
 */
class TokenChunksTest {
    @ParameterizedTest
    @ValueSource(strings = {"", " Once", "a \"quoted\" word", "back\\slash", "line\nbreak\ttab\r", "\u0001\u001f control",
            "héllo wörld", "emoji \uD83D\uDE00", "</script>", "\u2028\u2029"})
    void bytesAreJacksons(String text) {
        for (boolean chat : new boolean[] {false, true}) {
            for (boolean usage : new boolean[] {false, true}) {
                var chunks = new TokenChunks("cmpl-1f\"x", 1764600000L, "model \"m\"", chat, usage);
                ByteBuf b = chunks.token(UnpooledByteBufAllocator.DEFAULT, text);
                try {
                    byte[] event = ("data: " + jackson("cmpl-1f\"x", 1764600000L, "model \"m\"", chat, usage, text) + "\n\n")
                            .getBytes(StandardCharsets.UTF_8);
                    assertEquals(Integer.toHexString(event.length) + "\r\n" + new String(event, StandardCharsets.UTF_8) + "\r\n",
                            b.toString(StandardCharsets.UTF_8), "chat " + chat + ", usage " + usage);
                } finally {
                    b.release();
                }
            }
        }
    }

    /** The chunk as the server built it before it was pre-encoded: an object tree written by Jackson. */
    private static String jackson(String id, long created, String model, boolean chat, boolean usage, String text) {
        ObjectNode c = OpenAiServer.JSON.createObjectNode();
        c.put("id", id);
        c.put("object", chat ? "chat.completion.chunk" : "text_completion");
        c.put("created", created);
        c.put("model", model);
        ArrayNode choices = c.putArray("choices");
        ObjectNode choice = choices.addObject();
        choice.put("index", 0);
        if (chat) choice.putObject("delta").put("content", text);
        else choice.put("text", text);
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        if (usage) c.putNull("usage");
        return OpenAiServer.JSON.writeValueAsString(c);
    }
}

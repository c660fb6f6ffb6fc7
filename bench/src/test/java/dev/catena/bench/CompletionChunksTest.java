package dev.catena.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bench's reader takes the text and the usage's token count out of OpenAI's chunks, whatever else they hold. */
class CompletionChunksTest {
    @Test
    void takesEachTextTheUsageAndTheEnd() {
        var c = new CompletionChunks();
        String head = "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"text\",\"choices\":[{\"index\":0,\"text\":";
        c.accept(head + "\"\",\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}");
        assertEquals(0, c.first, "an empty piece is not the first token");
        c.accept(head + "\" Once \\\"up\\\"\\n\",\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}");
        assertTrue(c.first > 0);
        c.accept(head + "\"on\",\"logprobs\":{\"tokens\":[\"x\"]},\"finish_reason\":\"length\"}],\"usage\":null}");
        assertEquals(-1, c.tokens);
        c.accept("{\"id\":\"cmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}");
        c.accept("[DONE]");
        c.accept(head + "\"after\"}]}");
        assertEquals(" Once \"up\"\non", c.text.toString());
        assertTrue(c.last > c.first, "the last piece's time is taken at its own event");
        assertEquals(3, c.tokens);
        assertTrue(c.done);
    }
}

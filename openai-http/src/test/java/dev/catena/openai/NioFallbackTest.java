package dev.catena.openai;

import dev.catena.core.Catena;
import dev.catena.core.GenerationRequest;
import dev.catena.core.Generator;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.util.List;

import static dev.catena.openai.OpenAiServerTest.JSON;
import static dev.catena.openai.OpenAiServerTest.MODEL;
import static dev.catena.openai.OpenAiServerTest.events;
import static dev.catena.openai.OpenAiServerTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * With epoll switched off ({@code -Dcatena.netty.noNative=true}, as on a machine where it does not load) the server runs
 * on NIO and streams the same tokens as on epoll, the default where it loads (Linux).
 */
class NioFallbackTest {
    @Test
    void nioAndEpollStreamTheSameText() throws Exception {
        String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":24,\"temperature\":0,\"ignore_eos\":true,\"stream\":true}";
        try (Generator local = Catena.local(MODEL).build()) {
            String expected = local.generate(GenerationRequest.builder("Once upon a time").maxTokens(24).greedy().ignoreEos().build()).text();
            for (boolean nio : List.of(true, false)) {
                String before = System.getProperty("catena.netty.noNative");
                System.setProperty("catena.netty.noNative", Boolean.toString(nio));
                OpenAiServer server;
                try {
                    server = OpenAiServer.builder(local).port(0).start();
                } finally {
                    if (before == null) System.clearProperty("catena.netty.noNative");
                    else System.setProperty("catena.netty.noNative", before);
                }
                try (server) {
                    assertEquals(nio || !io.netty.channel.epoll.Epoll.isAvailable() ? "nio" : "epoll", server.implementation());
                    var text = new StringBuilder();
                    for (String e : events(post(server, "/v1/completions", body).body())) {
                        if (e.equals("[DONE]")) break;
                        JsonNode c = JSON.readTree(e);
                        text.append(c.get("choices").get(0).get("text").asString());
                    }
                    assertEquals(expected, text.toString(), nio ? "on NIO" : "on epoll");
                }
            }
        }
    }
}

package dev.catena.openai;

import dev.catena.core.Catena;
import dev.catena.core.ChatMessage;
import dev.catena.core.ChatPrompt;
import dev.catena.core.Generator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static dev.catena.openai.OpenAiServerTest.JSON;
import static dev.catena.openai.OpenAiServerTest.MODEL;
import static dev.catena.openai.OpenAiServerTest.events;
import static dev.catena.openai.OpenAiServerTest.ok;
import static dev.catena.openai.OpenAiServerTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Chat messages rendered with the GGUF's {@code tokenizer.chat_template} through llama.cpp: a copy of the demo model
 * given Qwen2's ChatML template is prompted with exactly the ChatML text written out here, the model without one with
 * the documented fallback, and a template llama.cpp does not know falls back with one logged warning, never an error.
 * A template given to the builder ({@code ./catena serve --chat-template}) replaces the model's, or its absence; one
 * llama.cpp does not know is refused when the generator is built.
 */
class ChatTemplateTest {
    /** Qwen2's template (as in llama.cpp's ggml-vocab-qwen2.gguf) without its default system message. */
    static final String CHATML_JINJA = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
            + " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    static final List<ChatMessage> CHAT = List.of(ChatMessage.system("Tell a story."), ChatMessage.user("Once upon a time"),
            ChatMessage.assistant("there was a dog."), ChatMessage.user("And then?"));
    static final String CHAT_JSON = "[{\"role\":\"system\",\"content\":\"Tell a story.\"},{\"role\":\"user\",\"content\":\"Once upon a time\"},"
            + "{\"role\":\"assistant\",\"content\":\"there was a dog.\"},{\"role\":\"user\",\"content\":\"And then?\"}]";
    static final String CHATML_TEXT = "<|im_start|>system\nTell a story.<|im_end|>\n<|im_start|>user\nOnce upon a time<|im_end|>\n"
            + "<|im_start|>assistant\nthere was a dog.<|im_end|>\n<|im_start|>user\nAnd then?<|im_end|>\n<|im_start|>assistant\n";
    static final String FALLBACK_TEXT = "System: Tell a story.\nUser: Once upon a time\nAssistant: there was a dog.\nUser: And then?\nAssistant:";

    static String chatBody(boolean stream) {
        return "{\"model\":\"m\",\"messages\":" + CHAT_JSON + ",\"max_tokens\":24,\"temperature\":0,\"stream\":" + stream
                + (stream ? ",\"stream_options\":{\"include_usage\":true}" : "") + "}";
    }

    @Test
    void aModelsChatmlTemplateRendersThePromptTheServerTokenizes(@TempDir Path tmp) throws Exception {
        Path model = GgufTemplates.withChatTemplate(MODEL, tmp.resolve("chatml.gguf"), CHATML_JINJA);
        try (Generator g = Catena.local(model).build();
             var server = OpenAiServer.builder(g).model("m").port(0).start()) {
            ChatPrompt prompt = g.chatPrompt(CHAT);
            assertTrue(prompt.templated());
            assertEquals(CHATML_TEXT, prompt.text());
            assertEquals(g.tokenize(CHATML_TEXT, true), prompt.tokens(), "this vocabulary has no ChatML tokens: plain text, with BOS");
            String expected = g.generate(prompt.request().maxTokens(24).greedy().build()).text();

            JsonNode j = ok(post(server, "/v1/chat/completions", chatBody(false)));
            assertEquals(prompt.tokens().size(), j.get("usage").get("prompt_tokens").asInt());
            assertNotEquals(g.tokenize(FALLBACK_TEXT, true).size(), prompt.tokens().size(), "the template changed the prompt");
            assertEquals(expected, j.get("choices").get(0).get("message").get("content").asString());

            var text = new StringBuilder();
            int usage = -1;
            for (String e : events(post(server, "/v1/chat/completions", chatBody(true)).body())) {
                if (e.equals("[DONE]")) break;
                JsonNode c = JSON.readTree(e);
                if (c.hasNonNull("usage")) usage = c.get("usage").get("prompt_tokens").asInt();
                if (!c.get("choices").isEmpty() && c.get("choices").get(0).get("delta").has("content")) {
                    text.append(c.get("choices").get(0).get("delta").get("content").asString());
                }
            }
            assertEquals(expected, text.toString(), "streamed");
            assertEquals(prompt.tokens().size(), usage);
        }
    }

    @Test
    void aModelWithoutATemplateGetsTheDocumentedFallback() throws Exception {
        try (Generator g = Catena.local(MODEL).build();
             var server = OpenAiServer.builder(g).model("m").port(0).start()) {
            ChatPrompt prompt = g.chatPrompt(CHAT);
            assertFalse(prompt.templated());
            assertEquals(FALLBACK_TEXT, prompt.text());
            assertEquals(g.tokenize(FALLBACK_TEXT, true), prompt.tokens());
            JsonNode j = ok(post(server, "/v1/chat/completions", chatBody(false)));
            assertEquals(prompt.tokens().size(), j.get("usage").get("prompt_tokens").asInt());
            assertEquals(g.generate(prompt.request().maxTokens(24).greedy().build()).text(),
                    j.get("choices").get(0).get("message").get("content").asString());
        }
    }

    @Test
    void aTemplateLlamaCppDoesNotKnowFallsBackWithAWarning(@TempDir Path tmp) throws Exception {
        Path model = GgufTemplates.withChatTemplate(MODEL, tmp.resolve("odd.gguf"), "{{ messages | a_filter_nobody_has }}");
        List<LogRecord> warnings = new ArrayList<>();
        Logger engineLog = Logger.getLogger("dev.catena.core.Engine");
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel().intValue() >= Level.WARNING.intValue()) synchronized (warnings) { warnings.add(r); }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        engineLog.addHandler(capture);
        try (Generator g = Catena.local(model).build();
             var server = OpenAiServer.builder(g).model("m").port(0).start()) {
            for (int i = 0; i < 2; i++) {
                JsonNode j = ok(post(server, "/v1/chat/completions", chatBody(false)));
                assertEquals(g.tokenize(FALLBACK_TEXT, true).size(), j.get("usage").get("prompt_tokens").asInt());
            }
            assertFalse(g.chatPrompt(CHAT).templated());
            synchronized (warnings) {
                assertEquals(1, warnings.size(), "one warning per generator, not one per request");
                assertTrue(warnings.getFirst().getMessage().contains("a_filter_nobody_has"), warnings.getFirst().getMessage());
            }
        } finally {
            engineLog.removeHandler(capture);
        }
    }

    @Test
    void aTemplateNamedForAModelWithoutOneRendersTheChat() throws Exception {
        try (Generator g = Catena.local(MODEL).chatTemplate("chatml").build();
             var server = OpenAiServer.builder(g).model("m").port(0).start()) {
            ChatPrompt prompt = g.chatPrompt(CHAT);
            assertTrue(prompt.templated());
            assertEquals(CHATML_TEXT, prompt.text());
            JsonNode j = ok(post(server, "/v1/chat/completions", chatBody(false)));
            assertEquals(prompt.tokens().size(), j.get("usage").get("prompt_tokens").asInt());
            assertEquals(g.generate(prompt.request().maxTokens(24).greedy().build()).text(),
                    j.get("choices").get(0).get("message").get("content").asString());
        }
        try (Generator g = Catena.local(MODEL).chatTemplate(CHATML_JINJA).build()) {
            assertEquals(CHATML_TEXT, g.chatPrompt(CHAT).text(), "a template's text, recognised by its markers");
        }
    }

    @Test
    void aTemplateNamedReplacesTheModelsOwn(@TempDir Path tmp) throws Exception {
        Path model = GgufTemplates.withChatTemplate(MODEL, tmp.resolve("chatml.gguf"), CHATML_JINJA);
        try (Generator g = Catena.local(model).chatTemplate("llama3").build()) {
            String text = g.chatPrompt(CHAT).text();
            assertTrue(text.startsWith("<|start_header_id|>system<|end_header_id|>\n\nTell a story.<|eot_id|>"), text);
            assertTrue(text.endsWith("<|start_header_id|>user<|end_header_id|>\n\nAnd then?<|eot_id|>"
                    + "<|start_header_id|>assistant<|end_header_id|>\n\n"), text);
            assertFalse(text.contains("<|im_start|>"), text);
        }
    }

    @Test
    void aTemplateLlamaCppDoesNotKnowIsRefusedWhenNamed() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Catena.local(MODEL).chatTemplate("no-such-template").build());
        assertTrue(e.getMessage().contains("no-such-template") && e.getMessage().contains("chatml"), e.getMessage());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Catena.local(MODEL).chatTemplate(" ").build());
    }

    @Test
    void aNulCharacterInAMessageIsABadRequest(@TempDir Path tmp) throws Exception {
        Path model = GgufTemplates.withChatTemplate(MODEL, tmp.resolve("chatml.gguf"), CHATML_JINJA);
        try (Generator g = Catena.local(model).build();
             var server = OpenAiServer.builder(g).model("m").port(0).start()) {
            var r = post(server, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"a\\u0000b\"}]}");
            assertTrue(OpenAiServerTest.error(r, 400).get("message").asString().contains("NUL"), r.body());
        }
    }
}

package dev.catena.openai;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import dev.catena.core.Catena;
import dev.catena.core.CatenaClient;
import dev.catena.core.ChatMessage;
import dev.catena.core.LocalSwarm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The official Java client ({@code com.openai:openai-java}) against the server on a 2-server local swarm: it lists the
 * model, completes (greedy, equal to llama.cpp's reference), stops at a stop sequence, chats with and without
 * streaming (the same text, exact usage), and sees OpenAI's error shape as its typed exceptions.
 */
class OpenAiJavaClientTest {
    static final String KEY = "java-client-key";
    static LocalSwarm swarm;
    static CatenaClient generator;
    static OpenAiServer server;
    static OpenAIClient client;
    static String reference;

    @BeforeAll
    static void start() throws Exception {
        reference = OpenAiServerTest.referenceText();
        swarm = Catena.localSwarm(OpenAiServerTest.MODEL).servers(2).start();
        generator = swarm.client();
        server = OpenAiServer.builder(generator).model("stories260K").port(0).apiKey(KEY).start();
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey(KEY)
                .maxRetries(0).timeout(Duration.ofSeconds(60)).build();
    }

    @AfterAll
    static void stop() {
        if (client != null) client.close();
        if (server != null) server.close();
        if (generator != null) generator.close();
        if (swarm != null) swarm.close();
    }

    static CompletionCreateParams.Builder greedy(String prompt, long maxTokens) {
        return CompletionCreateParams.builder().model("stories260K").prompt(prompt).maxTokens(maxTokens).temperature(0.0);
    }

    @Test
    void listsTheModel() {
        List<Model> models = client.models().list().data();
        assertEquals(List.of("stories260K"), models.stream().map(Model::id).toList());
        assertEquals("stories260K", client.models().retrieve("stories260K").id());
    }

    @Test
    void aGreedyCompletionIsLlamaCppsReference() {
        Completion c = client.completions().create(greedy("Once upon a time", 64).build());
        assertEquals(reference, c.choices().getFirst().text());
        assertEquals(CompletionChoice.FinishReason.LENGTH, c.choices().getFirst().finishReason());
        assertEquals(64, c.usage().orElseThrow().completionTokens());
        assertEquals(generator.tokenize("Once upon a time", true).size(), c.usage().orElseThrow().promptTokens());
    }

    @Test
    void aStopSequenceCutsTheText() {
        int dot = reference.indexOf('.');
        assertTrue(dot > 0, reference);
        Completion c = client.completions().create(greedy("Once upon a time", 64).stop(".").build());
        assertEquals(reference.substring(0, dot), c.choices().getFirst().text());
        assertEquals(CompletionChoice.FinishReason.STOP, c.choices().getFirst().finishReason());
    }

    @Test
    void aStreamedCompletionHasTheSameText() {
        var text = new StringBuilder();
        try (StreamResponse<Completion> s = client.completions().createStreaming(greedy("Once upon a time", 64).build())) {
            s.stream().forEach(chunk -> chunk.choices().forEach(ch -> text.append(ch.text())));
        }
        assertEquals(reference, text.toString());
    }

    @Test
    void chatWithAndWithoutStreaming() {
        var params = ChatCompletionCreateParams.builder().model("stories260K").addSystemMessage("Tell a story.")
                .addUserMessage("Once upon a time").maxCompletionTokens(20).temperature(0.0);
        ChatCompletion c = client.chat().completions().create(params.build());
        String content = c.choices().getFirst().message().content().orElseThrow();
        assertFalse(content.isEmpty());
        int promptTokens = generator.chatPrompt(List.of(ChatMessage.system("Tell a story."), ChatMessage.user("Once upon a time")))
                .tokens().size();
        assertEquals(promptTokens, c.usage().orElseThrow().promptTokens());
        assertEquals(20, c.usage().orElseThrow().completionTokens());
        assertEquals(ChatCompletion.Choice.FinishReason.LENGTH, c.choices().getFirst().finishReason());

        var text = new StringBuilder();
        long[] usage = {-1};
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(
                params.streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            s.stream().forEach(chunk -> {
                chunk.choices().forEach(ch -> ch.delta().content().ifPresent(text::append));
                chunk.usage().ifPresent(u -> usage[0] = u.completionTokens());
            });
        }
        assertEquals(content, text.toString());
        assertEquals(20, usage[0]);
    }

    @Test
    void errorsAreTheClientsTypedExceptions() {
        var unknown = assertThrows(NotFoundException.class,
                () -> client.completions().create(CompletionCreateParams.builder().model("gpt-4o").prompt("hi").build()));
        assertEquals(404, unknown.statusCode());
        assertEquals("model_not_found", unknown.code().orElseThrow());
        assertEquals("model", unknown.param().orElseThrow());
        assertEquals("invalid_request_error", unknown.type().orElseThrow());
        assertTrue(unknown.getMessage().contains("gpt-4o"), unknown.getMessage());

        var tooLong = assertThrows(BadRequestException.class, () -> client.completions().create(greedy("Once upon a time", 100_000).build()));
        assertEquals("context_length_exceeded", tooLong.code().orElseThrow());

        OpenAIClient wrongKey = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1")
                .apiKey("not-the-key").maxRetries(0).build();
        try {
            var denied = assertThrows(UnauthorizedException.class, () -> wrongKey.models().list());
            assertEquals(401, denied.statusCode());
        } finally {
            wrongKey.close();
        }
    }
}

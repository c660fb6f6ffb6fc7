package dev.catena.openai;

import dev.catena.core.Catena;
import dev.catena.core.CatenaClient;
import dev.catena.core.CatenaServer;
import dev.catena.core.ChatSession;
import dev.catena.core.Generation;
import dev.catena.core.GenerationRequest;
import dev.catena.core.Generator;
import dev.catena.core.LocalSwarm;
import dev.catena.core.TokenStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The OpenAI-compatible API over a local generator and a 3-server local swarm, through the JDK's HTTP client:
 * greedy output equals llama.cpp's reference, streaming equals non-streaming, usage is exact, and every error status.
 */
class OpenAiServerTest {
    static final Path MODEL = Path.of(System.getProperty("catena.models.dir", "../models"), "stories260K.gguf")
            .toAbsolutePath().normalize();
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static String expectedText;
    static Generator local;
    static OpenAiServer localServer;
    static LocalSwarm swarm;
    static CatenaClient swarmClient;
    static OpenAiServer swarmServer;

    /** The reference continuation of "Once upon a time" (64 greedy tokens) from models/stories260K.expected.json. */
    static String referenceText() throws java.io.IOException {
        String json = Files.readString(MODEL.resolveSibling("stories260K.expected.json"));
        var text = Pattern.compile("\"continuation_text\":\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(json);
        assertTrue(text.find());
        return text.group(1).replace("\\n", "\n").replace("\\\"", "\"").replace("\\\\", "\\");
    }

    @BeforeAll
    static void start() throws Exception {
        expectedText = referenceText();
        local = Catena.local(MODEL).build();
        localServer = OpenAiServer.builder(local).model("stories260K").port(0).start();
        swarm = Catena.localSwarm(MODEL).servers(3).start();
        swarmClient = swarm.client();
        swarmServer = OpenAiServer.builder(swarmClient).model("stories260K").port(0).maxConcurrent(2).start();
    }

    @AfterAll
    static void stop() {
        if (swarmServer != null) swarmServer.close();
        if (swarmClient != null) swarmClient.close();
        if (swarm != null) swarm.close();
        if (localServer != null) localServer.close();
        if (local != null) local.close();
    }

    static URI uri(OpenAiServer s, String path) {
        return URI.create("http://127.0.0.1:" + s.port() + path);
    }

    static HttpResponse<String> post(OpenAiServer s, String path, String body, String... headers) throws Exception {
        var b = HttpRequest.newBuilder(uri(s, path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) b.headers(headers);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode ok(HttpResponse<String> r) {
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    static JsonNode error(HttpResponse<String> r, int status) {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode e = JSON.readTree(r.body()).get("error");
        assertNotNull(e, r.body());
        for (String f : List.of("message", "type", "param", "code")) assertTrue(e.has(f), f + " in " + r.body());
        assertFalse(e.get("message").asString().isBlank());
        return e;
    }

    static String greedyBody(boolean stream) {
        return "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":64,\"temperature\":0,\"stream\":" + stream
                + (stream ? ",\"stream_options\":{\"include_usage\":true}" : "") + "}";
    }

    /** The data lines of an SSE body. */
    static List<String> events(String body) {
        List<String> out = new ArrayList<>();
        for (String line : body.split("\n")) if (line.startsWith("data: ")) out.add(line.substring(6));
        return out;
    }

    @Test
    void listsTheModel() throws Exception {
        var r = HTTP.send(HttpRequest.newBuilder(uri(localServer, "/v1/models")).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode j = ok(r);
        assertEquals("list", j.get("object").asString());
        assertEquals("stories260K", j.get("data").get(0).get("id").asString());
    }

    @Test
    void greedyCompletionIsTheReference() throws Exception {
        for (OpenAiServer s : List.of(localServer, swarmServer)) {
            JsonNode j = ok(post(s, "/v1/completions", greedyBody(false)));
            assertEquals("text_completion", j.get("object").asString());
            assertEquals(expectedText, j.get("choices").get(0).get("text").asString());
            assertEquals("length", j.get("choices").get(0).get("finish_reason").asString());
            assertEquals(5, j.get("usage").get("prompt_tokens").asInt());
            assertEquals(64, j.get("usage").get("completion_tokens").asInt());
            assertEquals(69, j.get("usage").get("total_tokens").asInt());
        }
        // The same prompt as token ids.
        JsonNode j = ok(post(localServer, "/v1/completions",
                "{\"prompt\":[1,403,407,261,378],\"max_tokens\":64,\"temperature\":0}"));
        assertEquals(expectedText, j.get("choices").get(0).get("text").asString());
    }

    @Test
    void streamingConcatenatesToTheReference() throws Exception {
        for (OpenAiServer s : List.of(localServer, swarmServer)) {
            var r = post(s, "/v1/completions", greedyBody(true));
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
            List<String> events = events(r.body());
            assertEquals("[DONE]", events.getLast());
            var text = new StringBuilder();
            String finish = null;
            JsonNode usage = null;
            for (String e : events.subList(0, events.size() - 1)) {
                JsonNode c = JSON.readTree(e);
                if (c.get("choices").isEmpty()) {
                    usage = c.get("usage");
                    continue;
                }
                JsonNode choice = c.get("choices").get(0);
                text.append(choice.get("text").asString());
                if (!choice.get("finish_reason").isNull()) finish = choice.get("finish_reason").asString();
            }
            assertEquals(expectedText, text.toString());
            assertEquals("length", finish);
            assertNotNull(usage);
            assertEquals(5, usage.get("prompt_tokens").asInt());
            assertEquals(64, usage.get("completion_tokens").asInt());
        }
    }

    /** The text of each streamed completion chunk, in order (the usage chunk and [DONE] left out). */
    static List<String> streamedPieces(HttpResponse<String> r) {
        assertEquals(200, r.statusCode(), r.body());
        List<String> pieces = new ArrayList<>();
        for (String e : events(r.body())) {
            if (e.equals("[DONE]")) continue;
            JsonNode choices = JSON.readTree(e).get("choices");
            if (!choices.isEmpty()) pieces.add(choices.get(0).get("text").asString());
        }
        return pieces;
    }

    @Test
    void aStreamIntervalGroupsWritesButChangesNoEventAndNeverHoldsTheEnd() throws Exception {
        try (var grouped = OpenAiServer.builder(local).model("stories260K").port(0).streamInterval(java.time.Duration.ofSeconds(1)).start()) {
            long t0 = System.nanoTime();
            var r = post(grouped, "/v1/completions", greedyBody(true));
            double seconds = (System.nanoTime() - t0) / 1e9;
            List<String> pieces = streamedPieces(r);
            assertEquals(streamedPieces(post(localServer, "/v1/completions", greedyBody(true))), pieces,
                    "one event per token, as without an interval");
            assertEquals(expectedText, String.join("", pieces));
            // Paced one token an interval, 64 tokens would take over a minute; grouped, the tokens queued within the first
            // interval leave with the last events, which never wait for a tick.
            assertTrue(seconds < 20, "took " + seconds + " s");
            String chat = "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],"
                    + "\"max_tokens\":8,\"temperature\":0,\"stream\":true}";
            List<String> events = events(post(grouped, "/v1/chat/completions", chat).body());
            assertEquals(events(post(localServer, "/v1/chat/completions", chat).body()).size(), events.size());
            assertEquals("assistant", JSON.readTree(events.getFirst()).get("choices").get(0).get("delta").get("role").asString());
        }
        assertThrows(IllegalArgumentException.class, () -> OpenAiServer.builder(local).streamInterval(java.time.Duration.ofMillis(-1)));
    }

    @Test
    void stopSequences() throws Exception {
        int cut = expectedText.indexOf("Lily");
        for (String stop : List.of("\"Lily\"", "[\"zzz\",\"Lily\"]")) {
            JsonNode j = ok(post(localServer, "/v1/completions",
                    "{\"prompt\":\"Once upon a time\",\"max_tokens\":64,\"temperature\":0,\"stop\":" + stop + "}"));
            assertEquals(expectedText.substring(0, cut), j.get("choices").get(0).get("text").asString());
            assertEquals("stop", j.get("choices").get(0).get("finish_reason").asString());
            assertTrue(j.get("usage").get("completion_tokens").asInt() < 64);
        }
        var r = post(localServer, "/v1/completions",
                "{\"prompt\":\"Once upon a time\",\"max_tokens\":64,\"temperature\":0,\"stop\":\"Lily\",\"stream\":true}");
        var text = new StringBuilder();
        List<String> events = events(r.body());
        for (String e : events.subList(0, events.size() - 1)) text.append(JSON.readTree(e).get("choices").get(0).get("text").asString());
        assertEquals(expectedText.substring(0, cut), text.toString());
    }

    @Test
    void logprobsOfGreedyTokensAreTheBest() throws Exception {
        JsonNode j = ok(post(localServer, "/v1/completions",
                "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"temperature\":0,\"logprobs\":5}"));
        JsonNode choice = j.get("choices").get(0);
        JsonNode lp = choice.get("logprobs");
        assertEquals(8, lp.get("tokens").size(), lp.toString());
        var joined = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            double chosen = lp.get("token_logprobs").get(i).asDouble();
            assertTrue(chosen <= 0, lp.toString());
            JsonNode top = lp.get("top_logprobs").get(i);
            assertTrue(top.size() >= 1 && top.size() <= 5, top.toString());
            double best = Double.NEGATIVE_INFINITY;
            for (var e : top.properties()) best = Math.max(best, e.getValue().asDouble());
            assertEquals(best, chosen, 1e-6, "greedy picks the most likely token: " + top);
            assertEquals(joined.length(), lp.get("text_offset").get(i).asInt());
            joined.append(lp.get("tokens").get(i).asString());
        }
        assertEquals(choice.get("text").asString(), joined.toString());

        JsonNode c = ok(post(localServer, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                + "\"max_tokens\":6,\"temperature\":0,\"logprobs\":true,\"top_logprobs\":2}"));
        JsonNode content = c.get("choices").get(0).get("logprobs").get("content");
        assertEquals(c.get("usage").get("completion_tokens").asInt(), content.size());
        assertEquals(2, content.get(0).get("top_logprobs").size());
        assertEquals(content.get(0).get("logprob").asDouble(), content.get(0).get("top_logprobs").get(0).get("logprob").asDouble(), 1e-6);
    }

    @Test
    void chatWithAndWithoutStreaming() throws Exception {
        String body = "{\"model\":\"stories260K\",\"messages\":[{\"role\":\"system\",\"content\":\"Tell a story.\"},"
                + "{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"max_completion_tokens\":20,\"temperature\":0";
        JsonNode j = ok(post(swarmServer, "/v1/chat/completions", body + "}"));
        assertEquals("chat.completion", j.get("object").asString());
        JsonNode msg = j.get("choices").get(0).get("message");
        assertEquals("assistant", msg.get("role").asString());
        String content = msg.get("content").asString();
        int promptTokens = local.tokenize(OpenAiServer.renderChat(List.of(new String[] {"system", "Tell a story."},
                new String[] {"user", "Once upon a time"})), true).size();
        assertEquals(promptTokens, j.get("usage").get("prompt_tokens").asInt());

        var r = post(swarmServer, "/v1/chat/completions", body + ",\"stream\":true}");
        List<String> events = events(r.body());
        assertEquals("[DONE]", events.getLast());
        var text = new StringBuilder();
        assertEquals("assistant", JSON.readTree(events.getFirst()).get("choices").get(0).get("delta").get("role").asString());
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode d = JSON.readTree(e).get("choices").get(0).get("delta");
            assertEquals("chat.completion.chunk", JSON.readTree(e).get("object").asString());
            if (d.has("content")) text.append(d.get("content").asString());
        }
        assertEquals(content, text.toString());
    }

    @Test
    void errors() throws Exception {
        error(post(localServer, "/v1/completions", "{\"prompt\": "), 400);
        error(post(localServer, "/v1/completions", "{\"prompt\":\"x\",\"temperature\":\"hot\"}"), 400);
        error(post(localServer, "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":0}"), 400);
        assertEquals("n", error(post(localServer, "/v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":2}"), 400).get("param").asString());
        error(post(localServer, "/v1/chat/completions", "{\"messages\":[{\"role\":\"robot\",\"content\":\"hi\"}]}"), 400);
        error(post(localServer, "/v1/completions", "{\"prompt\":\"x\",\"logprobs\":9}"), 400);
        assertEquals("logprobs", error(post(localServer, "/v1/completions", "{\"prompt\":\"x\",\"logprobs\":3,\"stream\":true}"), 400)
                .get("param").asString());
        assertEquals("context_length_exceeded", error(post(localServer, "/v1/completions",
                "{\"prompt\":\"Once upon a time\",\"max_tokens\":100000}"), 400).get("code").asString());
        assertEquals("context_length_exceeded", error(post(localServer, "/v1/completions",
                "{\"prompt\":\"Once upon a time\",\"max_tokens\":100000,\"stream\":true}"), 400).get("code").asString());
        assertEquals("model_not_found", error(post(localServer, "/v1/completions",
                "{\"model\":\"gpt-5\",\"prompt\":\"x\"}"), 404).get("code").asString());
        error(post(localServer, "/v1/nothing", "{}"), 404);

        try (var keyed = OpenAiServer.builder(local).port(0).apiKey("sesame").maxBodyBytes(1000).start()) {
            error(post(keyed, "/v1/completions", "{\"prompt\":\"x\"}"), 401);
            error(post(keyed, "/v1/completions", "{\"prompt\":\"x\"}", "Authorization", "Bearer wrong"), 401);
            var unauthorized = HTTP.send(HttpRequest.newBuilder(uri(keyed, "/v1/models")).build(), HttpResponse.BodyHandlers.ofString());
            error(unauthorized, 401);
            ok(post(keyed, "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":2}", "Authorization", "Bearer sesame"));
            error(post(keyed, "/v1/completions", "{\"prompt\":\"" + "a".repeat(5000) + "\"}", "Authorization", "Bearer sesame"), 413);
        }
    }

    @Test
    void overloadIsAnswered429() throws Exception {
        var release = new CountDownLatch(1);
        var entered = new CountDownLatch(1);
        Generator slow = new Generator() {
            @Override
            public Generation generate(GenerationRequest request) {
                return local.generate(request);
            }

            @Override
            public TokenStream stream(GenerationRequest request) {
                entered.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return local.stream(request);
            }

            @Override
            public ChatSession openSession(int maxLength) {
                return local.openSession(maxLength);
            }

            @Override
            public List<Integer> tokenize(String text, boolean bos) {
                return local.tokenize(text, bos);
            }

            @Override
            public String detokenize(List<Integer> tokens) {
                return local.detokenize(tokens);
            }

            @Override
            public void close() {
            }
        };
        try (var one = OpenAiServer.builder(slow).port(0).maxConcurrent(1).start()) {
            var first = HTTP.sendAsync(HttpRequest.newBuilder(uri(one, "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\":\"Once upon a time\",\"max_tokens\":4,\"temperature\":0}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertTrue(entered.await(30, TimeUnit.SECONDS));
            var r = post(one, "/v1/completions", "{\"prompt\":\"x\"}");
            error(r, 429);
            assertTrue(r.headers().firstValue("retry-after").isPresent());
            release.countDown();
            ok(first.get(30, TimeUnit.SECONDS));
            ok(post(one, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":2}"));
        }
    }

    @Test
    void disconnectMidStreamFreesEveryServerSession() throws Exception {
        String body = "{\"prompt\":\"Once upon a time\",\"max_tokens\":500,\"ignore_eos\":true,\"stream\":true}";
        try (var socket = new Socket("127.0.0.1", swarmServer.port())) {
            OutputStream out = socket.getOutputStream();
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + b.length
                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            out.flush();
            var in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            assertTrue(in.readLine().startsWith("HTTP/1.1 200"));
            String line;
            do {
                line = in.readLine();
            } while (line != null && !line.startsWith("data: "));
            assertNotNull(line);
            assertTrue(swarm.servers().stream().anyMatch(s -> s.openSessions() > 0), "the generation is still running");
        } // closed mid-stream
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            boolean clean = true;
            for (CatenaServer s : swarm.servers()) clean &= s.openSessions() == 0 && s.kvBytesReserved() == 0;
            if (clean) break;
            assertTrue(System.nanoTime() < deadline, "sessions left open after the client disconnected");
            Thread.sleep(50);
        }
        // The server still serves.
        assertEquals(expectedText, ok(post(swarmServer, "/v1/completions", greedyBody(false))).get("choices").get(0).get("text").asString());
    }

    @Test
    void swarmFailureIs503() throws Exception {
        try (LocalSwarm broken = Catena.localSwarm(MODEL).servers(3).start(); CatenaClient client = broken.client();
             var s = OpenAiServer.builder(client).port(0).start()) {
            broken.stop(broken.addresses().get(1));
            String stopped = broken.addresses().get(1);
            var e = error(post(s, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":8}"), 503);
            assertTrue(e.get("message").asString().contains(stopped), e.toString());
            var again = error(post(s, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"stream\":true}"), 503);
            assertTrue(again.get("message").asString().contains("block") || again.get("message").asString().contains(stopped),
                    again.toString());
        }
    }
}

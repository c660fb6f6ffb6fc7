package dev.catena.openai;

import dev.catena.core.Catena;
import dev.catena.core.CatenaClient;
import dev.catena.core.ChatSession;
import dev.catena.core.GenerationRequest;
import dev.catena.core.Generator;
import dev.catena.core.LocalSwarm;
import dev.catena.core.SwarmStatus;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.catena.openai.OpenAiServerTest.HTTP;
import static dev.catena.openai.OpenAiServerTest.JSON;
import static dev.catena.openai.OpenAiServerTest.MODEL;
import static dev.catena.openai.OpenAiServerTest.post;
import static dev.catena.openai.OpenAiServerTest.uri;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code GET /health}, {@code GET /metrics} (checked by Debian's {@code promtool}), {@code GET /v1/catena/status}
 * and the page's files, over a local generator and a local swarm whose servers are stopped one by one.
 */
class ObservabilityTest {

    static HttpResponse<String> get(OpenAiServer s, String path, String... headers) throws Exception {
        var b = HttpRequest.newBuilder(uri(s, path)).GET();
        if (headers.length > 0) b.headers(headers);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(HttpResponse<String> r, int status) {
        assertEquals(status, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    /** The value of a Prometheus sample line {@code name{labels} value}, or fails naming the text. */
    static double sample(String metrics, String nameAndLabels) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(nameAndLabels) + " (\\S+)$").matcher(metrics);
        assertTrue(m.find(), "no sample " + nameAndLabels + " in\n" + metrics);
        return Double.parseDouble(m.group(1));
    }

    /** Polls {@code path} until {@code done} holds for its JSON (status code included as "http"), at most 10 s. */
    static JsonNode await(OpenAiServer s, String path, Predicate<JsonNode> done) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            var r = get(s, path);
            var node = (tools.jackson.databind.node.ObjectNode) JSON.readTree(r.body());
            node.put("http", r.statusCode());
            last = node;
            if (done.test(node)) return node;
            Thread.sleep(200);
        }
        throw new AssertionError("not within 10 s: " + path + " last answered " + last);
    }

    @Test
    void aLocalGeneratorIsHealthyAndItsPageIsServedWithoutTheKey() throws Exception {
        try (Generator local = Catena.local(MODEL).split("0:2,2:5").build();
             var server = OpenAiServer.builder(local).model("stories260K").port(0).apiKey("k").start()) {
            JsonNode health = json(get(server, "/health"), 200);
            assertEquals("ok", health.get("status").asString());
            assertEquals("stories260K", health.get("model").asString());
            assertEquals(5, health.get("blocks").asInt());
            assertEquals(0, health.get("uncovered_blocks").size());
            assertEquals(2, health.get("servers_reachable").asInt(), health.toString());

            assertEquals(401, get(server, "/v1/catena/status").statusCode(), "the status needs the key like every /v1 endpoint");
            JsonNode status = json(get(server, "/v1/catena/status", "Authorization", "Bearer k"), 200);
            assertEquals("LOCAL", status.get("servers").get(0).get("state").asString());
            assertEquals(List.of(1, 1, 1, 1, 1), JSON.convertValue(status.get("coverage"), List.class));
            assertTrue(status.get("covered").asBoolean());

            var page = get(server, "/");
            assertEquals(200, page.statusCode());
            assertTrue(page.headers().firstValue("content-type").orElse("").startsWith("text/html"));
            assertTrue(page.body().contains("/page/page.js"), page.body());
            assertEquals(200, get(server, "/page/page.js").statusCode());
            assertEquals(200, get(server, "/page/page.css").statusCode());
            assertEquals(404, get(server, "/page/secret.txt").statusCode());
            assertEquals(405, post(server, "/health", "{}").statusCode());
        }
    }

    @Test
    void metricsCountRequestsAndTokensAndPassPromtool() throws Exception {
        try (Generator local = Catena.local(MODEL).build(); var server = OpenAiServer.builder(local).model("stories260K").port(0).start()) {
            String body = "{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":16,\"temperature\":0,\"ignore_eos\":true";
            assertEquals(200, post(server, "/v1/completions", body + "}").statusCode());
            assertEquals(200, post(server, "/v1/completions", body + ",\"stream\":true}").statusCode());
            assertEquals(404, post(server, "/v1/completions", "{\"model\":\"nope\",\"prompt\":\"x\"}").statusCode());
            var r = get(server, "/metrics");
            assertEquals(200, r.statusCode());
            assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"));
            String m = r.body();
            assertEquals(2, sample(m, "catena_http_requests_total{endpoint=\"/v1/completions\",status=\"200\"}"));
            assertEquals(1, sample(m, "catena_http_requests_total{endpoint=\"/v1/completions\",status=\"404\"}"));
            assertEquals(10, sample(m, "catena_tokens_in_total"), "5 prompt tokens, twice");
            assertEquals(32, sample(m, "catena_tokens_out_total"));
            assertEquals(2, sample(m, "catena_time_to_first_token_seconds_count"));
            assertTrue(sample(m, "catena_time_to_first_token_seconds_bucket{le=\"+Inf\"}") == 2, m);
            assertEquals(30, sample(m, "catena_token_latency_seconds_count"), "15 decode steps after each first token");
            assertEquals(0, sample(m, "catena_failovers_total"));
            assertEquals(0, sample(m, "catena_sessions_open"));
            assertEquals(0, sample(m, "catena_kv_in_use_bytes"));
            assertEquals(0, sample(m, "catena_blocks_uncovered"));
            for (String name : List.of("catena_pushes_used_total", "catena_pushes_mismatched_total", "catena_servers_reachable")) {
                assertTrue(m.contains("\n" + name + " "), name + " in\n" + m);
            }
            Promtool.check(m);
        }
    }

    @Test
    void aStreamItsClientLeftIsCountedAsFarAsItWent() throws Exception {
        try (Generator local = Catena.local(MODEL).build(); var server = OpenAiServer.builder(local).model("stories260K").port(0).start()) {
            int chunksRead = 0;
            try (var socket = new java.net.Socket("127.0.0.1", server.port())) {
                socket.setSoTimeout(10_000);
                byte[] b = "{\"prompt\":\"Once upon a time\",\"max_tokens\":400,\"ignore_eos\":true,\"stream\":true}"
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
                var out = socket.getOutputStream();
                out.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + b.length
                        + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                out.write(b);
                out.flush();
                var in = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                        java.nio.charset.StandardCharsets.UTF_8));
                String status = in.readLine();
                assertTrue(status.startsWith("HTTP/1.1 200"), status);
                for (String line = in.readLine(); line != null && chunksRead < 3; line = in.readLine()) {
                    if (line.startsWith("data: ")) chunksRead++;
                }
            } // closed mid-stream
            assertEquals(3, chunksRead);
            long deadline = System.nanoTime() + 10_000_000_000L;
            String m = get(server, "/metrics").body();
            while (!m.contains("\ncatena_generations_cancelled_total 1.0") && System.nanoTime() < deadline) {
                Thread.sleep(50);
                m = get(server, "/metrics").body();
            }
            assertEquals(1, sample(m, "catena_generations_cancelled_total"), m);
            assertEquals(5, sample(m, "catena_tokens_in_total"), "the prompt's 5 tokens");
            double out = sample(m, "catena_tokens_out_total");
            assertTrue(out >= chunksRead && out < 400, "the tokens computed before the client left, not the 400 asked for: " + out);
            assertEquals(0, sample(m, "catena_time_to_first_token_seconds_count"), "a cancelled generation has no stats to record");
            Promtool.check(m);
        }
    }

    @Test
    void aSwarmsStatusFollowsSessionsFailoversAndStoppedServers() throws Exception {
        try (LocalSwarm swarm = Catena.localSwarm(MODEL).servers(3).replicas(2).start();
             CatenaClient client = swarm.client();
             var server = OpenAiServer.builder(client).model("stories260K").port(0).start()) {
            JsonNode health = json(get(server, "/health"), 200);
            assertEquals(6, health.get("servers_reachable").asInt(), health.toString());
            SwarmStatus s = client.status();
            assertEquals(List.of(2, 2, 2, 2, 2), s.coverage());
            assertTrue(s.servers().stream().allMatch(x -> x.reachable() && x.sessions() == 0 && x.kvBytesTotal() > 0), s.toString());

            try (ChatSession chat = client.openSession(128)) {
                chat.generate(GenerationRequest.builder("Once upon a time").maxTokens(8).greedy().build());
                s = client.status();
                assertEquals(1, s.sessions().size(), s.toString());
                var route = s.sessions().getFirst().route();
                assertEquals(3, route.size(), route.toString());
                assertTrue(s.sessions().getFirst().hopSteps() > 0, s.toString());
                double share = s.sessions().getFirst().pushShare();
                assertTrue(share >= 0 && share <= 1, s.toString());
                assertEquals(1, s.counters().openSessions());

                String middle = route.get(1).address();
                swarm.stop(middle);
                chat.generate(GenerationRequest.builder(" Then").maxTokens(8).greedy().build());
                s = client.status();
                assertEquals(1, s.failovers().size(), s.toString());
                var f = s.failovers().getFirst();
                assertEquals(middle, f.from());
                assertEquals(route.get(1).blocks(), f.blocks());
                assertEquals(1, f.to().size(), f.toString());
                assertFalse(f.to().contains(middle));
                assertEquals(1, s.counters().failovers());
                // The servers are probed every second: the chat's KV shows from the next probe on.
                long kvDeadline = System.nanoTime() + 5_000_000_000L;
                while (sample(get(server, "/metrics").body(), "catena_kv_in_use_bytes") == 0 && System.nanoTime() < kvDeadline) {
                    Thread.sleep(50);
                }
                assertTrue(sample(get(server, "/metrics").body(), "catena_kv_in_use_bytes") > 0, client.status().toString());

                JsonNode after = await(server, "/health", h -> h.get("servers_reachable").asInt() == 5);
                assertEquals(200, after.get("http").asInt(), "the replica still covers the blocks: " + after);
                String replica = f.to().getFirst();
                swarm.stop(replica);
                JsonNode down = await(server, "/health", h -> h.get("http").asInt() == 503);
                assertEquals("degraded", down.get("status").asString());
                var gap = route.get(1).blocks();
                assertEquals(List.of(List.of(gap.start(), gap.end())), JSON.convertValue(down.get("uncovered_blocks"), List.class));
                assertTrue(down.get("message").asString().contains("[" + gap.start() + ", " + gap.end() + ")"), down.toString());
                String metrics = get(server, "/metrics").body();
                assertEquals(1, sample(metrics, "catena_failovers_total"));
                double turnaround = sample(metrics, "catena_client_turnaround_p50_seconds");
                assertTrue(turnaround > 0 && turnaround <= sample(metrics, "catena_client_turnaround_p90_seconds"), metrics);
                assertEquals(1, sample(metrics, "catena_sessions_open"));
            }
            assertEquals(0, client.status().sessions().size());
        }
    }

    @Test
    void aDirectoryClientSeesTheServersTheDirectoryLists(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path file = dir.resolve("directory.txt");
        try (var head = Catena.server(MODEL).blocks(0, 3).listen("127.0.0.1", 0).directory(file).start();
             var tail = Catena.server(MODEL).blocks(3, 5).listen("127.0.0.1", 0).directory(file).start();
             CatenaClient client = Catena.client(MODEL).directory(file).build();
             var server = OpenAiServer.builder(client).model("stories260K").port(0).start()) {
            JsonNode health = json(get(server, "/health"), 200);
            assertEquals(2, health.get("servers_reachable").asInt(), health.toString());
            assertEquals(List.of(head.address(), tail.address()),
                    client.status().servers().stream().map(SwarmStatus.Server::address).toList());
            tail.close(); // withdraws from the directory
            JsonNode down = await(server, "/health", h -> h.get("http").asInt() == 503);
            assertEquals(List.of(List.of(3, 5)), JSON.convertValue(down.get("uncovered_blocks"), List.class), down.toString());
            assertEquals(1, down.get("servers_known").asInt(), down.toString());
        }
    }

    /** Debian's promtool, fetched by {@code scripts/fetch-promtool.sh} when missing. */
    static final class Promtool {
        static void check(String metrics) throws Exception {
            Path repo = Path.of(System.getProperty("catena.repo.dir", "..")).toAbsolutePath().normalize();
            Path script = repo.resolve("scripts/fetch-promtool.sh");
            Process fetch = new ProcessBuilder(script.toString()).redirectError(ProcessBuilder.Redirect.PIPE).start();
            String path = new String(fetch.getInputStream().readAllBytes()).trim();
            String err = new String(fetch.getErrorStream().readAllBytes());
            int rc = fetch.waitFor();
            org.junit.jupiter.api.Assumptions.assumeTrue(rc != 3, "Debian's prometheus package cannot be fetched: " + err);
            assertEquals(0, rc, script + " failed: " + err);
            Path file = Files.createTempFile("catena-metrics", ".txt");
            try {
                Files.writeString(file, metrics);
                Process p = new ProcessBuilder(path, "check", "metrics").redirectInput(file.toFile()).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes());
                assertEquals(0, p.waitFor(), "promtool check metrics:\n" + out + "\non\n" + metrics);
                System.out.println("promtool check metrics: ok " + out.trim());
            } finally {
                Files.deleteIfExists(file);
            }
        }
    }
}

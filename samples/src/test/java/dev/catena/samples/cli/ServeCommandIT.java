package dev.catena.samples.cli;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static dev.catena.samples.cli.CatenaLauncherIT.REPO;
import static dev.catena.samples.cli.CatenaLauncherIT.catena;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ./catena serve --local}: the OpenAI-compatible API answers with the reference continuation. */
class ServeCommandIT {

    static String http(String method, String url, String body, int expectedStatus) throws Exception {
        var c = (HttpURLConnection) URI.create(url).toURL().openConnection();
        c.setRequestMethod(method);
        if (body != null) {
            c.setDoOutput(true);
            c.setRequestProperty("Content-Type", "application/json");
            c.getOutputStream().write(body.getBytes(StandardCharsets.UTF_8));
        }
        assertEquals(expectedStatus, c.getResponseCode());
        try (InputStream in = c.getResponseCode() < 400 ? c.getInputStream() : c.getErrorStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void servesTheReferenceContinuation() throws Exception {
        var expected = OracleCommandIT.Expected.firstCase();
        String continuation = expected.text().substring("Once upon a time".length());
        Process p = new ProcessBuilder(REPO.resolve("catena").toString(), "serve", "--local", "--port", "0", "--api-key", "k")
                .directory(REPO.toFile()).redirectErrorStream(true).start();
        try {
            var reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line;
            String base = null;
            var listening = Pattern.compile("catena serve listening on (http://\\S+)");
            while ((line = reader.readLine()) != null) {
                var m = listening.matcher(line);
                if (m.find()) {
                    base = m.group(1);
                    break;
                }
            }
            assertNotNull(base, "no listening line");
            assertTrue(http("GET", base + "/v1/models", null, 401).contains("\"error\""));
            var c = (HttpURLConnection) URI.create(base + "/v1/completions").toURL().openConnection();
            c.setRequestMethod("POST");
            c.setDoOutput(true);
            c.setRequestProperty("Authorization", "Bearer k");
            c.getOutputStream().write("{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":64,\"temperature\":0}"
                    .getBytes(StandardCharsets.UTF_8));
            assertEquals(200, c.getResponseCode());
            String json = new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String text = OracleCommandIT.unescape(OracleCommandIT.find(json, "\"text\":\"((?:[^\"\\\\]|\\\\.)*)\""));
            assertEquals(continuation, text, json);
        } finally {
            p.destroy();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "catena serve did not stop on SIGTERM");
        }
    }

    @Test
    void aChatTemplateFromAFileRendersTheChat(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        // The demo model has no template; this file holds ChatML's (Qwen2's, without its default system message).
        var file = tmp.resolve("chatml.jinja");
        java.nio.file.Files.writeString(file, "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
                + " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}");
        Process p = new ProcessBuilder(REPO.resolve("catena").toString(), "serve", "--local", "--port", "0", "--chat-template",
                file.toString()).directory(REPO.toFile()).redirectErrorStream(true).start();
        try {
            String base = listening(p);
            String chat = http("POST", base + "/v1/chat/completions",
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"max_tokens\":16,\"temperature\":0}", 200);
            // This vocabulary has no ChatML tokens: the rendered chat is plain text, the same prompt as a completion's.
            String completion = http("POST", base + "/v1/completions", "{\"prompt\":\"<|im_start|>user\\nOnce upon a time<|im_end|>\\n"
                    + "<|im_start|>assistant\\n\",\"max_tokens\":16,\"temperature\":0}", 200);
            var tokens = Pattern.compile("\"prompt_tokens\":(\\d+)");
            assertEquals(OracleCommandIT.find(completion, tokens.pattern()), OracleCommandIT.find(chat, tokens.pattern()), chat + "\n" + completion);
            assertEquals(OracleCommandIT.find(completion, "\"text\":\"((?:[^\"\\\\]|\\\\.)*)\""),
                    OracleCommandIT.find(chat, "\"content\":\"((?:[^\"\\\\]|\\\\.)*)\""), chat + "\n" + completion);
        } finally {
            p.destroy();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "catena serve did not stop on SIGTERM");
        }
    }

    @Test
    void aChatTemplateLlamaCppDoesNotKnowIsOneLineAndExitTwo() throws Exception {
        var r = catena("serve", "--local", "--port", "0", "--chat-template", "no-such-template");
        assertEquals(2, r.exit(), r.out() + r.err());
        assertTrue(r.err().contains("no-such-template") && r.err().contains("chatml"), r.err());
    }

    @Test
    void aStreamIntervalOutOfRangeIsOneLineAndExitTwo() throws Exception {
        var r = catena("serve", "--local", "--port", "0", "--stream-interval-ms", "-1");
        assertEquals(2, r.exit(), r.out() + r.err());
        assertTrue(r.err().contains("--stream-interval-ms must be in [0, 1000]"), r.err());
    }

    /** The base URL {@code catena serve} prints once it listens. */
    private static String listening(Process p) throws Exception {
        var reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        var listening = Pattern.compile("catena serve listening on (http://\\S+)");
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
            var m = listening.matcher(line);
            if (m.find()) return m.group(1);
        }
        throw new AssertionError("no listening line");
    }

    @Test
    void aBusyPortIsOneLineAndExitTwo() throws Exception {
        try (var busy = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            var r = catena("serve", "--local", "--port", String.valueOf(busy.getLocalPort()));
            assertEquals(2, r.exit(), r.out() + r.err());
            assertTrue(r.err().contains("cannot listen on"), r.err());
        }
    }
}

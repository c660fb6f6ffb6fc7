package dev.catena.openai;

import dev.catena.core.Catena;
import dev.catena.core.Generator;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The official {@code openai} npm client (6.30.1) against the server: models, a completion, a stop sequence, chat with
 * and without streaming, and error cases ({@code src/test/js/openai-client-test.mjs}). The client is installed into
 * {@code target/npm-openai} when missing; the test is skipped only when {@code node} or {@code npm} is absent.
 */
class OpenAiNpmClientTest {
    static final String OPENAI_NPM = "openai@6.30.1";

    static boolean onPath(String tool) {
        try {
            Process p = new ProcessBuilder(tool, "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static String run(Path dir, int timeoutSeconds, List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        var out = new StringBuilder();
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try {
                out.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the process was killed
            }
        });
        boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly();
        reader.join(5000);
        assertTrue(done, "timed out: " + command + "\n" + out);
        assertEquals(0, p.exitValue(), command + "\n" + out);
        return out.toString();
    }

    @Test
    void theOfficialNodeClientWorks() throws Exception {
        Assumptions.assumeTrue(onPath("node") && onPath("npm"), "node and npm are not installed: skipping the openai npm client test");
        Path module = Path.of(System.getProperty("catena.repo.dir", "..")).resolve("openai-http").toAbsolutePath().normalize();
        if (!Files.isDirectory(module.resolve("src/test/js"))) module = Path.of("").toAbsolutePath();
        Path npmDir = module.resolve("target/npm-openai");
        Files.createDirectories(npmDir);
        if (!Files.exists(npmDir.resolve("node_modules/openai/package.json"))) {
            Files.writeString(npmDir.resolve("package.json"), "{\"private\":true}\n");
            run(npmDir, 300, List.of("npm", "install", "--no-save", "--no-audit", "--no-fund", OPENAI_NPM));
        }
        Path expected = npmDir.resolve("expected.txt");
        Files.writeString(expected, OpenAiServerTest.referenceText());
        try (Generator local = Catena.local(OpenAiServerTest.MODEL).build();
             var server = OpenAiServer.builder(local).model("stories260K").port(0).apiKey("test-key").start()) {
            String out = run(npmDir, 120, List.of("node", module.resolve("src/test/js/openai-client-test.mjs").toString(),
                    "http://127.0.0.1:" + server.port() + "/v1", "stories260K", expected.toString(),
                    npmDir.resolve("node_modules").toString()));
            assertTrue(out.contains("ALL OK"), out);
        }
    }
}

package dev.catena.openai;

import dev.catena.core.Catena;
import dev.catena.core.CatenaClient;
import dev.catena.core.LocalSwarm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The live page in a real headless Chromium (Debian's, driven by npm {@code playwright-core}; see
 * {@code src/test/js/page-test.mjs}) against a 3-server local swarm behind an API key: the key field, all three
 * servers and full coverage, a chat reply that streams in, and a stopped server shown as gone within 10 s.
 * {@code scripts/fetch-chromium.sh} installs Chromium when missing; playwright-core is installed into
 * {@code target/npm-playwright}. Skipped only when node or npm is absent or Chromium cannot be installed.
 */
class LivePageBrowserTest {
    static final String PLAYWRIGHT_NPM = "playwright-core@1.65.1";

    @Test
    void thePageShowsTheSwarmStreamsAChatAndSeesAServerGo() throws Exception {
        Assumptions.assumeTrue(OpenAiNpmClientTest.onPath("node") && OpenAiNpmClientTest.onPath("npm"),
                "node and npm are not installed: skipping the browser test");
        Path repo = Path.of(System.getProperty("catena.repo.dir", "..")).toAbsolutePath().normalize();
        Path module = repo.resolve("openai-http");
        String chromium = chromium(repo);
        Path npmDir = module.resolve("target/npm-playwright");
        Files.createDirectories(npmDir);
        if (!Files.exists(npmDir.resolve("node_modules/playwright-core/package.json"))) {
            Files.writeString(npmDir.resolve("package.json"), "{\"private\":true}\n");
            OpenAiNpmClientTest.run(npmDir, 300, List.of("npm", "install", "--no-save", "--no-audit", "--no-fund", PLAYWRIGHT_NPM));
        }
        try (LocalSwarm swarm = Catena.localSwarm(OpenAiServerTest.MODEL).servers(3).start();
             CatenaClient client = swarm.client();
             var server = OpenAiServer.builder(client).model("stories260K").port(0).apiKey("page-key").start()) {
            int blocks = client.status().blocks();
            String victim = swarm.addresses().get(1);
            Process p = new ProcessBuilder("node", module.resolve("src/test/js/page-test.mjs").toString(),
                    "http://127.0.0.1:" + server.port() + "/", "page-key", "3", Integer.toString(blocks), chromium,
                    npmDir.resolve("node_modules").toString()).directory(npmDir.toFile()).redirectErrorStream(true).start();
            var out = new StringBuilder();
            Thread reader = Thread.ofPlatform().daemon().start(() -> {
                try (var lines = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                     Writer in = p.outputWriter(StandardCharsets.UTF_8)) {
                    for (String line; (line = lines.readLine()) != null; ) {
                        synchronized (out) {
                            out.append(line).append('\n');
                        }
                        if (line.equals("KILL")) {
                            swarm.stop(victim);
                            in.write("KILLED " + victim + "\n");
                            in.flush();
                        }
                    }
                } catch (Exception e) {
                    synchronized (out) {
                        out.append("test side: ").append(e).append('\n');
                    }
                }
            });
            boolean done = p.waitFor(180, TimeUnit.SECONDS);
            if (!done) p.destroyForcibly();
            reader.join(5000);
            String log;
            synchronized (out) {
                log = out.toString();
            }
            System.out.print(log);
            assertTrue(done, "the browser test timed out:\n" + log);
            assertEquals(0, p.exitValue(), log);
            assertTrue(log.contains("ALL OK"), log);
        }
    }

    /** Debian's chromium, installed by {@code scripts/fetch-chromium.sh} when missing. */
    private static String chromium(Path repo) throws Exception {
        Process fetch = new ProcessBuilder(repo.resolve("scripts/fetch-chromium.sh").toString()).start();
        String path = new String(fetch.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        String err = new String(fetch.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = fetch.waitFor();
        Assumptions.assumeTrue(rc != 3, "Chromium cannot be installed here, skipping the browser test: " + err);
        assertEquals(0, rc, "scripts/fetch-chromium.sh failed: " + err);
        return path;
    }
}

package dev.catena.samples.cli;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static dev.catena.samples.cli.CatenaLauncherIT.REPO;
import static dev.catena.samples.cli.ServeCommandIT.http;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ./catena serve} on the module path (Micrometer included): /health, /metrics and the page answer without the key. */
class ServeObservabilityIT {

    @Test
    void healthMetricsAndThePageAnswer() throws Exception {
        Process p = new ProcessBuilder(REPO.resolve("catena").toString(), "serve", "--local", "--split", "0:2,2:5", "--port", "0",
                "--api-key", "k").directory(REPO.toFile()).redirectErrorStream(true).start();
        try {
            var reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String base = null;
            var listening = Pattern.compile("catena serve listening on (http://\\S+)");
            for (String line; base == null && (line = reader.readLine()) != null; ) {
                var m = listening.matcher(line);
                if (m.find()) base = m.group(1);
            }
            assertNotNull(base, "no listening line");
            String health = http("GET", base + "/health", null, 200);
            assertTrue(health.contains("\"status\":\"ok\"") && health.contains("\"blocks\":5") && health.contains("\"servers_reachable\":2"),
                    health);
            String metrics = http("GET", base + "/metrics", null, 200);
            assertTrue(metrics.contains("# TYPE catena_time_to_first_token_seconds histogram"), metrics);
            assertTrue(metrics.contains("catena_http_requests_total{endpoint=\"/health\",status=\"200\"} 1.0"), metrics);
            assertTrue(http("GET", base + "/", null, 200).contains("/page/page.js"));
            assertTrue(http("GET", base + "/page/page.js", null, 200).contains("/v1/catena/status"));
            assertTrue(http("GET", base + "/v1/catena/status", null, 401).contains("\"error\""));
        } finally {
            p.destroy();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "catena serve did not stop on SIGTERM");
        }
    }
}

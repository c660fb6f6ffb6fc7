package dev.catena.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The HTTP harness end to end at a tiny scale, so that it keeps working: its JSON is complete and consistent. */
class HttpBenchTest {
    static final Path MODEL = Path.of(System.getProperty("catena.models.dir", "../models"), "stories260K.gguf").toAbsolutePath();

    @Test
    void aTinyRunMeasuresBothSidesAndHoldsTheConnections(@TempDir Path out) throws Exception {
        assertEquals(0, BenchCli.run("http", "--model", MODEL.toString(), "--servers", "2", "--tokens", "8", "--rounds", "2", "--warmup", "1",
                "--warmup-requests", "2", "--connections", "6", "--concurrent-tokens", "6", "--out", out.toString()));
        JsonNode j = JsonMapper.builder().build().readTree(Files.readString(out.resolve("http.json")));
        assertTrue(j.get("same_text").asBoolean(), "HTTP streams the same greedy text as the client: " + j);
        assertEquals(2, j.get("warmup_requests").asInt(), j.toString());
        assertTrue(j.get("jit_ms_during_rounds").asLong() >= 0, "what the JIT compiled during the rounds is reported: " + j);
        for (String side : new String[] {"in_process", "http"}) {
            JsonNode tps = j.get(side).get("tokens_per_second");
            assertTrue(tps.get("min").asDouble() > 0 && tps.get("min").asDouble() <= tps.get("median").asDouble()
                    && tps.get("median").asDouble() <= tps.get("max").asDouble(), j.toString());
            assertTrue(j.get(side).get("ttft_ms").get("min").asDouble() > 0, j.toString());
        }
        assertTrue(j.get("ratio").get("throughput").get("median").asDouble() > 0, j.toString());
        assertTrue(j.get("ratio").get("decode_throughput").get("median").asDouble() > 0, "the rate from first token to last: " + j);
        JsonNode c = j.get("concurrency");
        assertEquals(6, c.get("completed").asInt(), j.toString());
        assertEquals(0, c.get("failed").asInt(), j.toString());
        assertTrue(c.get("max_streaming").asInt() >= 1, j.toString());
        assertEquals(0, c.get("server_sessions_after").asInt(), "every stream's sessions are freed: " + j);
        assertTrue(c.get("rss_bytes").get("peak_during").asLong() >= c.get("rss_bytes").get("before").asLong(), j.toString());
    }

    @Test
    void theJdkClientReadsTheSameStream(@TempDir Path out) throws Exception {
        assertEquals(0, BenchCli.run("http", "--model", MODEL.toString(), "--tokens", "6", "--warmup", "0", "--rounds", "1",
                "--warmup-requests", "1", "--connections", "0", "--client", "jdk", "--out", out.toString()));
        JsonNode j = JsonMapper.builder().build().readTree(Files.readString(out.resolve("http.json")));
        assertEquals("jdk", j.get("client").asString(), j.toString());
        assertTrue(j.get("same_text").asBoolean(), j.toString());
        assertTrue(j.get("http").get("ttft_ms").get("min").asDouble() > 0, j.toString());
    }

    @Test
    void severalStreamIntervalsAreComparedInOneRun(@TempDir Path out) throws Exception {
        assertEquals(0, BenchCli.run("http", "--model", MODEL.toString(), "--tokens", "12", "--warmup", "0", "--rounds", "2",
                "--warmup-requests", "1", "--connections", "0", "--stream-interval-ms", "0,5", "--out", out.toString()));
        JsonNode j = JsonMapper.builder().build().readTree(Files.readString(out.resolve("http.json")));
        assertEquals("[0.0,5.0]", j.get("stream_interval_ms").toString(), j.toString());
        assertTrue(j.get("same_text").asBoolean(), "every server streams the client's text: " + j);
        JsonNode more = j.get("more_intervals");
        assertEquals(1, more.size(), j.toString());
        assertEquals(5.0, more.get(0).get("stream_interval_ms").asDouble(), j.toString());
        assertTrue(more.get(0).get("http").get("tokens_per_second").get("min").asDouble() > 0, j.toString());
        assertTrue(more.get(0).get("ratio").get("throughput").get("median").asDouble() > 0, j.toString());
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertEquals(2, BenchCli.run("http", "--stream-interval-ms", "-1"));
        assertEquals(2, BenchCli.run("http", "--stream-interval-ms", "0,2000"));
        assertEquals(2, BenchCli.run("http", "--warmup", "-1"));
        assertEquals(2, BenchCli.run("http", "--warmup-requests", "-1"));
        assertEquals(2, BenchCli.run("http", "--client", "curl"));
        assertEquals(2, BenchCli.run("http", "--tokens", "0"));
        assertEquals(2, BenchCli.run("http", "--connections", "-1"));
        assertEquals(2, BenchCli.run("http", "--preset", "nope"));
        assertEquals(0, BenchCli.run("http", "--help"));
    }
}

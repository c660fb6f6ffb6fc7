package dev.catena.bench;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The batch bench on a tiny run: a row per batch size, both sides measured, and a bad size refused. */
class BatchBenchTest {

    @Test
    void reportsBothSidesPerBatchSize() throws Exception {
        var out = new StringWriter();
        var cli = new CommandLine(new BenchCli()).setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("batch", "--model", ComputeBenchTest.MODEL.toString(), "--sessions", "1,3", "--prompt", "4",
                "--decode", "3", "--rounds", "1"), out.toString());
        JsonNode json = new ObjectMapper().readTree(out.toString());
        JsonNode batches = json.get("batches");
        assertEquals(2, batches.size(), out.toString());
        assertEquals(3, batches.get(1).get("sessions").asInt());
        for (JsonNode row : batches) {
            assertTrue(row.get("catena_tps").asDouble() > 0 && row.get("llama_cpp_tps").asDouble() > 0, row.toString());
            assertEquals(row.get("catena_tps").asDouble() / row.get("llama_cpp_tps").asDouble(), row.get("ratio").asDouble(), 1e-9);
        }
        assertTrue(json.get("cpu_variant").asString().startsWith("libggml-cpu"), out.toString());
    }

    @Test
    void aBatchSizeBelowOneIsAUsageError() {
        assertEquals(2, BenchCli.run("batch", "--model", ComputeBenchTest.MODEL.toString(), "--sessions", "0"));
    }
}

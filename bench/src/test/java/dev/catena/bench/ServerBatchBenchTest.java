package dev.catena.bench;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The batching-server bench on a tiny run: both sides per B with their servers' compute per step, and a bad baseline refused. */
class ServerBatchBenchTest {

    @Test
    void reportsBothSidesPerSessionCount() throws Exception {
        var out = new StringWriter();
        var cli = new CommandLine(new BenchCli()).setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("batch-server", "--model", ComputeBenchTest.MODEL.toString(), "--sessions", "1,2", "--tokens", "3",
                "--rounds", "1"), out.toString());
        JsonNode json = new ObjectMapper().readTree(out.toString());
        assertEquals(1, json.get("baseline_computes").asInt(), out.toString());
        JsonNode rows = json.get("rows");
        assertEquals(2, rows.size(), out.toString());
        for (JsonNode row : rows) {
            for (String side : new String[]{"batching", "solo"}) {
                JsonNode s = row.get(side);
                assertTrue(s.get("tps").asDouble() > 0 && s.get("p50_step_ms").asDouble() > 0 && s.get("compute_ms_per_step").asDouble() > 0,
                        row.toString());
            }
            assertEquals(row.get("batching").get("tps").asDouble() / row.get("solo").get("tps").asDouble(), row.get("tps_ratio").asDouble(), 1e-9);
        }
    }

    @Test
    void noBaselineComputeIsAUsageError() {
        assertEquals(2, BenchCli.run("batch-server", "--model", ComputeBenchTest.MODEL.toString(), "--baseline-computes", "0"));
    }
}

package dev.catena.bench;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The swarm scaling bench on a tiny run: both sides' one-client and C-client throughputs, their ratios, and the batches the swarm ran. */
class SwarmBatchBenchTest {

    @Test
    void reportsBothSidesScaling() throws Exception {
        var out = new StringWriter();
        var cli = new CommandLine(new BenchCli()).setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("batch-swarm", "--model", ComputeBenchTest.MODEL.toString(), "--servers", "3", "--clients", "3",
                "--prompt", "4", "--decode", "3", "--rounds", "1"), out.toString());
        JsonNode json = new ObjectMapper().readTree(out.toString());
        for (String side : new String[]{"catena", "llama_cpp"}) {
            JsonNode s = json.get(side);
            assertTrue(s.get("one_tps").asDouble() > 0 && s.get("many_tps").asDouble() > 0, out.toString());
            assertEquals(s.get("many_tps").asDouble() / s.get("one_tps").asDouble(), s.get("ratio").asDouble(), 1e-9);
        }
        assertEquals(json.get("catena").get("ratio").asDouble() / json.get("llama_cpp").get("ratio").asDouble(),
                json.get("ratio_of_ratios").asDouble(), 1e-9);
        assertEquals(3, json.get("servers").asInt());
        assertTrue(json.get("mean_batch").asDouble() >= 1, "the servers counted their batches: " + out);
    }

    @Test
    void oneClientIsAUsageError() {
        assertEquals(2, BenchCli.run("batch-swarm", "--model", ComputeBenchTest.MODEL.toString(), "--clients", "1"));
    }
}

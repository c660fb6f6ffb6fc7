package dev.catena.bench;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The compute bench on a tiny run: its baseline holds weights in memory unless told, and it names the CPU variant. */
class ComputeBenchTest {
    static final Path MODEL = Path.of(System.getProperty("catena.models.dir", "../models"), "stories260K.gguf");

    static String run(String... extra) {
        var out = new StringWriter();
        var cli = new CommandLine(new BenchCli()).setOut(new PrintWriter(out));
        String[] base = {"compute", "--model", MODEL.toString(), "--threads", "1", "--prefill", "8", "--decode", "4", "--rounds", "1"};
        String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(base), java.util.Arrays.stream(extra)).toArray(String[]::new);
        assertEquals(0, cli.execute(args), out.toString());
        return out.toString();
    }

    @Test
    void theBaselineReadsItsWeightsIntoMemoryByDefaultAndTheReportSaysSo() {
        String json = run();
        assertTrue(json.contains("\"baseline_weights\":\"memory\""), json);
        assertTrue(json.matches("(?s).*\"cpu_variant\":\"libggml-cpu[^\"]*\".*"), json);
        assertTrue(json.matches("(?s).*\"decode_range\":\\[[0-9.E]+,[0-9.E]+].*"), json);
        assertTrue(json.matches("(?s).*\"decode_step_median_us\":[0-9.E]+.*"), json);
        assertTrue(json.matches("(?s).*\"decode_median_step\":[0-9.E]+.*"), json);
        assertTrue(run("--baseline-weights", "mapped").contains("\"baseline_weights\":\"mapped\""));
    }
}

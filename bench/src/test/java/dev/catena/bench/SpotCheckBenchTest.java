package dev.catena.bench;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The spot-check harness on a tiny swarm: checks run only at a fraction above 0, agree, and the summary compares. */
class SpotCheckBenchTest {

    @Test
    void checksRunOnTheReplicasOnlyWhenAskedAndHonestServersAgree() {
        var text = new StringWriter();
        var cli = new CommandLine(new SpotCheckBench()).setOut(new PrintWriter(text, true));
        assertEquals(0, cli.execute("--pass-through", "64", "--servers", "2", "--replicas", "2", "--fractions", "0,1", "--tokens", "12",
                "--warmup", "2", "--rounds", "2", "--seed", "3"));
        String out = text.toString();
        // | round | fraction | p50 | p90 | mean | checks | disagreements | failovers |
        var row = Pattern.compile("^\\| (\\d) \\| ([0-9.]+) \\| ([0-9.]+) \\| ([0-9.]+) \\| ([0-9.]+) \\| (\\d+) \\| (\\d+) \\| (\\d+) \\|$",
                Pattern.MULTILINE).matcher(out);
        int rows = 0;
        List<String> order = new java.util.ArrayList<>();
        while (row.find()) {
            rows++;
            double fraction = Double.parseDouble(row.group(2));
            long checks = Long.parseLong(row.group(6));
            order.add(row.group(2));
            if (fraction == 0) assertEquals(0, checks, out);
            else assertTrue(checks >= 1, "fraction 1: a check starts whenever none is running: " + out);
            assertEquals("0", row.group(7), "honest replicas agree: " + out);
            assertEquals("0", row.group(8), "no server failed: " + out);
            assertTrue(Double.parseDouble(row.group(3)) > 0, out);
        }
        assertEquals(4, rows, out);
        assertEquals(List.of("0.0", "1.0", "1.0", "0.0"), order, "the order alternates each round: " + out);
        assertTrue(out.contains("| 1.0 | "), out);
        assertTrue(Pattern.compile("servers: \\d+ pushes dropped as stale, of them \\d+ counted unsigned").matcher(out).find(), out);
        var summary = Pattern.compile("^\\| 1\\.0 \\| ([0-9.]+) \\| ([0-9.]+) \\| (\\d) of 2 \\|", Pattern.MULTILINE).matcher(out);
        assertTrue(summary.find(), out);
        assertTrue(Double.parseDouble(summary.group(2)) > 0, "a ratio to the baseline: " + out);
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertEquals(2, BenchCli.run("spot-checks", "--fractions", "0,2"));
        assertEquals(2, BenchCli.run("spot-checks", "--replicas", "0"));
        assertEquals(2, BenchCli.run("spot-checks", "--mode", "ring"));
        assertEquals(2, BenchCli.run("spot-checks", "--servers", "17"));
    }
}

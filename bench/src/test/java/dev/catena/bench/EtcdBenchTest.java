package dev.catena.bench;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The etcd harness end to end at a tiny scale against a real etcd, so that it keeps working. */
class EtcdBenchTest {

    @Test
    void aTinyRunReportsEveryMeasurement() {
        var captured = new ByteArrayOutputStream();
        PrintStream out = System.out;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        int exit;
        try {
            exit = BenchCli.run("etcd", "--records", "60", "--blocks", "16", "--announcers", "3", "--watchers", "2", "--changes", "5",
                    "--plans", "20", "--announce-every-s", "1");
        } finally {
            System.setOut(out);
        }
        String report = captured.toString(StandardCharsets.UTF_8);
        System.out.print(report);
        assertEquals(0, exit, report);
        for (String line : new String[] {"announce burst: 60 puts in", "first read of 60 records", "a change to all 2 watchers: p50",
                "route planning over it: p50", "one 1 s announce interval, every record changed: 60 puts in",
                "on paper, a lease per server: 60 records / 1 s = 60 puts/s"}) {
            assertTrue(report.contains(line), line + " in:\n" + report);
        }
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertEquals(2, BenchCli.run("etcd", "--records", "0"));
        assertEquals(2, BenchCli.run("etcd", "--blocks", "8"));
        assertEquals(0, BenchCli.run("etcd", "--help"));
    }
}

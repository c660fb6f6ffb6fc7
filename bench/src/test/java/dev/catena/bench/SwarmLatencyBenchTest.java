package dev.catena.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The swarm harness end to end on a tiny run: its JSON, Markdown and chart are written and consistent. */
class SwarmLatencyBenchTest {

    @Test
    void aRunWritesJsonMarkdownAndAChart(@TempDir Path out) throws Exception {
        assertEquals(0, BenchCli.run("swarm", "--pass-through", "256", "--scenario", "lan", "--servers", "1,2", "--tokens", "8",
                "--warmup", "2", "--warmup-generations", "2", "--out", out.toString())); // 8 steps measured, whatever ran before
        String json = Files.readString(out.resolve("swarm.json"));
        var rows = Pattern.compile("\\{\"model\":\"pass-through\",\"scenario\":\"lan\",\"servers\":(\\d),.*?\"mode\":\"(relay|push)\""
                + ",\"n_embd\":256,\"steps\":8,\"p50_ms\":([0-9.]+)").matcher(json);
        int count = 0;
        while (rows.find()) {
            count++;
            assertTrue(Double.parseDouble(rows.group(3)) > 0, json);
        }
        assertEquals(4, count, "2 server counts x 2 modes: " + json);
        String md = Files.readString(out.resolve("swarm.md"));
        assertEquals(2 + 4, md.lines().count(), md);
        var png = ImageIO.read(out.resolve("swarm.png").toFile());
        assertNotNull(png, "a readable PNG");
        assertTrue(png.getWidth() > 300 && png.getHeight() > 300);
    }

    @Test
    void serversInTheirOwnJvmsReportTheirTurnaroundAndLeaveNoProcessBehind(@TempDir Path out) throws Exception {
        assertEquals(0, BenchCli.run("swarm", "--processes", "--pass-through", "256", "--scenario", "lan", "--servers", "2",
                "--modes", "push", "--tokens", "16", "--warmup", "4", "--out", out.toString()));
        String json = Files.readString(out.resolve("swarm.json"));
        var row = Pattern.compile("\"model\":\"pass-through procs\".*\"server_turnaround_p50_ms\":([0-9.]+),\"server_turnaround_p90_ms\":([0-9.]+)"
                + ",\"client_turnaround_p50_ms\":([0-9.]+)").matcher(json);
        assertTrue(row.find(), json);
        // The children's counters came back: a hop costs something, and p90 is not below p50.
        assertTrue(Double.parseDouble(row.group(1)) > 0 && Double.parseDouble(row.group(2)) >= Double.parseDouble(row.group(1)), json);
        assertTrue(Double.parseDouble(row.group(3)) > 0, json);
        assertEquals(0, ProcessHandle.current().children().filter(p -> p.info().commandLine().orElse("")
                .contains(BenchServerMain.class.getName())).filter(ProcessHandle::isAlive).count(), "no bench server left running");
    }

    @Test
    void badArgumentsAreUsageErrorsNotStackTraces() {
        assertEquals(2, BenchCli.run("swarm", "--scenario", "moon"));
        assertEquals(2, BenchCli.run("swarm", "--tokens", "0"));
        assertEquals(2, BenchCli.run("swarm", "--ring-window", "0"));
        assertEquals(2, BenchCli.run("compute", "--preset", "nope"));
        assertEquals(2, BenchCli.run("nonsense"));
        assertEquals(2, BenchCli.run("swarm", "--processes", "--tls", "on"));
        assertEquals(0, BenchCli.run("swarm", "--help"));
        assertEquals(0, BenchCli.run("--help"));
    }

    @Test
    void theFormulaIsPROTOCOLsLatencyModel() {
        var far = new Scenario("far", 40, 2, java.util.List.of(3));
        // push: d(C,S1) + sum c + sum d(Sk,Sk+1) + d(SN,C); relay: sum (2 d(C,Sk) + c_k)
        assertEquals(40 + 3.0 + 2 * 2 + 40, far.formula(3, dev.catena.core.client.RemoteSession.Mode.PUSH, 3.0));
        assertEquals(3 * 80 + 3.0, far.formula(3, dev.catena.core.client.RemoteSession.Mode.RELAY, 3.0));
    }
}

package dev.catena.samples.cli;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static dev.catena.samples.cli.CatenaLauncherIT.MODEL;
import static dev.catena.samples.cli.CatenaLauncherIT.REPO;
import static dev.catena.samples.cli.CatenaLauncherIT.catena;
import static dev.catena.samples.cli.OracleCommandIT.find;
import static dev.catena.samples.cli.OracleCommandIT.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ./catena swarm}, and {@code ./catena server} processes driven by {@code ./catena generate --peers}. */
class SwarmCommandIT {

    @Test
    void swarmInPushRelayAndRingModesGivesTheReferenceTokens() throws Exception {
        int[] expected = OracleCommandIT.Expected.firstCase().tokens();
        for (String mode : List.of("push", "relay", "ring")) {
            var r = catena("swarm", "--model", MODEL.toString(), "--servers", "3", "--mode", mode, "--prompt", "Once upon a time",
                    "-n", "64", "--greedy", "--json");
            assertEquals(0, r.exit(), r.err());
            String json = r.out().strip();
            assertArrayEquals(expected, ints(find(json, "\"tokens\":\\[([^\\]]*)\\]")), mode + ": " + json);
            assertTrue(json.contains("\"latency_ms\":{\"p50\":"), json);
            // Each of the 3 servers' turnaround beyond compute, and the client's (push and relay drive every step).
            var turnarounds = java.util.regex.Pattern.compile("\\{\"server\":\"[^\"]+\",\"p50_ms\":([0-9.]+),\"p90_ms\":([0-9.]+)}").matcher(json);
            int servers = 0;
            while (turnarounds.find()) {
                servers++;
                assertTrue(Double.parseDouble(turnarounds.group(1)) > 0, json);
            }
            assertEquals(3, servers, json);
            double clientTurnaround = Double.parseDouble(find(json, "\"client_turnaround_ms\":\\{\"p50\":([0-9.]+)"));
            assertTrue(mode.equals("ring") ? clientTurnaround == 0 : clientTurnaround > 0, json);
            long used = Long.parseLong(find(json, "\"pushes_used\":(\\d+)"));
            long toPeers = Long.parseLong(find(json, "\"bytes_server_to_server\":(\\d+)"));
            long fromClient = Long.parseLong(find(json, "\"bytes_client_to_server\":(\\d+)"));
            long sent = Long.parseLong(find(json, "\"pushes_sent\":(\\d+)"));
            if (mode.equals("ring")) { // the client left the path: every step after the prompt went around the ring, verified
                assertEquals("{\"verified\":63,\"rewound\":0}", find(json, "\"ring\":(\\{[^}]*\\})"), json);
                assertTrue(r.out().contains("\"ring_tokens_sent\":63"), json);
                continue;
            }
            // Less what signing adds a push (Protocol.SIGNED_PUSH_OVERHEAD_BYTES, 200): TinyStories' hidden states are 256 bytes.
            assertTrue(toPeers <= fromClient + sent * 200, json);
            if (mode.equals("push")) {
                assertTrue(used >= 64, "two downstream servers use pushes for most of 64 steps: " + json);
            } else {
                assertEquals(0, used, json);
            }
        }
    }

    @Test
    void killedServersFailOverToReplicasWithoutChangingAToken() throws Exception {
        int[] expected = OracleCommandIT.Expected.firstCase().tokens();
        for (String mode : List.of("push", "relay", "ring")) {
            var r = catena("swarm", "--model", MODEL.toString(), "--servers", "2", "--replicas", "2", "--mode", mode,
                    "--chaos", "kill:1@10,kill:0@20", "--prompt", "Once upon a time", "-n", "64", "--greedy", "--json");
            assertEquals(0, r.exit(), r.err());
            String json = r.out().strip();
            assertArrayEquals(expected, ints(find(json, "\"tokens\":\\[([^\\]]*)\\]")), mode + ": " + json);
            assertEquals(2, find(json, "\"failovers\":\\[(.*)\\]").split("\"server\"").length - 1, json);
            assertTrue(r.err().contains("chaos: stopping server"), r.err());
        }
        var bad = catena("swarm", "--model", MODEL.toString(), "--chaos", "explode", "--prompt", "x");
        assertEquals(2, bad.exit(), bad.err());
        var badTimeout = catena("swarm", "--model", MODEL.toString(), "--step-timeout-s", "0", "--prompt", "x");
        assertEquals(2, badTimeout.exit(), badTimeout.err());
        assertTrue(badTimeout.err().contains("--step-timeout-s must be > 0"), badTimeout.err());
    }

    @Test
    void generateAgainstServerProcesses(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        List<Process> servers = new ArrayList<>();
        var directory = tmp.resolve("servers.txt");
        try {
            List<String> peers = new ArrayList<>();
            for (String blocks : List.of("2:5", "0:2")) { // any order: the client builds the route
                var p = new ProcessBuilder(REPO.resolve("catena").toString(), "server", "--model", MODEL.toString(),
                        "--blocks", blocks, "--directory", directory.toString()).directory(REPO.toFile()).redirectErrorStream(true).start();
                servers.add(p);
                var reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                String line;
                var listening = Pattern.compile("catena server listening on (\\S+),");
                String address = null;
                while ((line = reader.readLine()) != null) {
                    var m = listening.matcher(line);
                    if (m.find()) {
                        address = m.group(1);
                        break;
                    }
                }
                assertTrue(address != null, "server " + blocks + " printed its address");
                peers.add(address);
                assertServerMallocSettings(p);
            }
            var r = catena("generate", "--peers", String.join(",", peers), "--model", MODEL.toString(), "--prompt",
                    "Once upon a time", "-n", "64", "--greedy", "--json");
            assertEquals(0, r.exit(), r.err());
            assertArrayEquals(OracleCommandIT.Expected.firstCase().tokens(), ints(find(r.out(), "\"tokens\":\\[([^\\]]*)\\]")));
            var viaDirectory = catena("generate", "--directory", directory.toString(), "--model", MODEL.toString(), "--prompt",
                    "Once upon a time", "-n", "64", "--greedy", "--json");
            assertEquals(0, viaDirectory.exit(), viaDirectory.err());
            assertArrayEquals(OracleCommandIT.Expected.firstCase().tokens(), ints(find(viaDirectory.out(), "\"tokens\":\\[([^\\]]*)\\]")));
            // Ring mode between separate server processes: the last one samples and hands each token to the first.
            var ring = catena("generate", "--peers", String.join(",", peers), "--model", MODEL.toString(), "--mode", "ring", "--prompt",
                    "Once upon a time", "-n", "64", "--greedy", "--json");
            assertEquals(0, ring.exit(), ring.err());
            assertArrayEquals(OracleCommandIT.Expected.firstCase().tokens(), ints(find(ring.out(), "\"tokens\":\\[([^\\]]*)\\]")));
            var gap = catena("generate", "--peers", peers.getFirst(), "--model", MODEL.toString(), "--prompt", "x");
            assertEquals(5, gap.exit(), gap.err());
            assertTrue(gap.err().contains("no usable server covers blocks [0, 2)"), gap.err()); // peers.getFirst() hosts 2:5
        } finally {
            for (Process p : servers) {
                p.destroy();
                if (!p.waitFor(20, TimeUnit.SECONDS)) p.destroyForcibly();
            }
        }
    }

    /**
     * The launcher runs a server with two malloc arenas and a fixed mmap threshold (README, "Hostile
     * connections"), unless the caller's environment sets them: the JVM it execs has them in its environment.
     */
    private static void assertServerMallocSettings(Process server) throws java.io.IOException {
        var environ = java.nio.file.Path.of("/proc", Long.toString(server.pid()), "environ");
        if (!java.nio.file.Files.exists(environ)) return; // no /proc here
        List<String> env = List.of(java.nio.file.Files.readString(environ, StandardCharsets.UTF_8).split("\0"));
        assertTrue(env.contains("MALLOC_ARENA_MAX=" + setOr("MALLOC_ARENA_MAX", "2")), env.toString());
        assertTrue(env.contains("MALLOC_MMAP_THRESHOLD_=" + setOr("MALLOC_MMAP_THRESHOLD_", "262144")), env.toString());
    }

    /** The variable's value here, or what the launcher puts in its place when it is unset or empty. */
    private static String setOr(String variable, String launchersDefault) {
        String value = System.getenv(variable);
        return value == null || value.isEmpty() ? launchersDefault : value;
    }
}

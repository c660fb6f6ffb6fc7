package dev.catena.samples.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ./catena etcd}, servers announcing there with {@code --directory etcd://...}, {@code status}
 * and {@code generate --directory etcd://...}; a server killed with SIGKILL leaves when its lease expires.
 */
class EtcdCommandIT {

    static int freePort() throws Exception {
        try (var s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Starts {@code ./catena ARGS} and returns the first group of {@code pattern} in its output. */
    static String startAndRead(List<Process> started, Pattern pattern, String... args) throws Exception {
        var cmd = new ArrayList<String>();
        cmd.add(REPO.resolve("catena").toString());
        cmd.addAll(List.of(args));
        var p = new ProcessBuilder(cmd).directory(REPO.toFile()).redirectErrorStream(true).start();
        started.add(p);
        var reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        var seen = new StringBuilder();
        String line;
        while ((line = reader.readLine()) != null) {
            seen.append(line).append('\n');
            var m = pattern.matcher(line);
            if (m.find()) {
                Thread.ofPlatform().daemon().start(() -> reader.lines().forEach(l -> { })); // keep draining
                return m.group(1);
            }
        }
        throw new AssertionError(String.join(" ", args) + " ended without " + pattern + ":\n" + seen);
    }

    @Test
    void serversAnnounceInEtcdAndClientsRouteThroughThem(@TempDir Path tmp) throws Exception {
        int[] expected = OracleCommandIT.Expected.firstCase().tokens();
        List<Process> started = new ArrayList<>();
        try {
            String uri = startAndRead(started, Pattern.compile("^(etcd://\\S+)$"), "etcd", "--port", String.valueOf(freePort()),
                    "--peer-port", String.valueOf(freePort()), "--data-dir", tmp.resolve("etcd").toString());
            var listening = Pattern.compile("catena server listening on (\\S+),");
            String a = startAndRead(started, listening, "server", "--model", MODEL.toString(), "--blocks", "0:2", "--directory", uri);
            String b = startAndRead(started, listening, "server", "--model", MODEL.toString(), "--blocks", "2:5", "--directory", uri,
                    "--lease-ttl-s", "2");
            var status = catena("status", "--directory", uri, "--json");
            assertEquals(0, status.exit(), status.err());
            assertTrue(status.out().contains(a) && status.out().contains(b), status.out());
            assertTrue(status.out().contains("\"model_name\":\"stories260K.gguf\""), status.out());
            assertEquals(5, status.out().split("\"block\":").length - 1, "five blocks, each listed: " + status.out());
            var text = catena("status", "--directory", uri);
            assertTrue(text.out().contains("every block is covered"), text.out());

            var r = catena("generate", "--directory", uri, "--model", MODEL.toString(), "--prompt", "Once upon a time", "-n", "64",
                    "--greedy", "--json");
            assertEquals(0, r.exit(), r.err());
            assertArrayEquals(expected, ints(find(r.out(), "\"tokens\":\\[([^\\]]*)\\]")));

            String model = dev.catena.core.Catena.modelId(MODEL);
            try (var view = dev.catena.core.Catena.directory(java.net.URI.create(uri))) { // watched: no JVM start per look
                view.servers(model);
                started.get(2).destroyForcibly().waitFor(10, TimeUnit.SECONDS); // server b, SIGKILL: no withdrawal
                long t0 = System.nanoTime();
                while (view.servers(model).stream().anyMatch(rec -> rec.address().equals(b)) && System.nanoTime() - t0 < 10_000_000_000L) {
                    Thread.sleep(20);
                }
                double gone = (System.nanoTime() - t0) / 1e9;
                System.out.printf("killed server's record gone after %.1f s (lease TTL 2 s)%n", gone);
            }
            String out = catena("status", "--directory", uri, "--json").out();
            assertTrue(!out.contains(b), "a killed server's record goes when its 2 s lease expires: " + out);
            var gap = catena("generate", "--directory", uri, "--model", MODEL.toString(), "--prompt", "x");
            assertEquals(5, gap.exit(), gap.err());
            assertTrue(gap.err().contains("no usable server covers blocks [2, 5)"), gap.err());
        } finally {
            for (Process p : started.reversed()) {
                p.destroy();
                if (!p.waitFor(30, TimeUnit.SECONDS)) p.destroyForcibly();
            }
        }
    }

    @Test
    void serversWithNumBlocksCoverTheModelAndMoveWhenOneIsKilled(@TempDir Path tmp) throws Exception {
        int[] expected = OracleCommandIT.Expected.firstCase().tokens();
        List<Process> started = new ArrayList<>();
        try {
            String uri = startAndRead(started, Pattern.compile("^(etcd://\\S+)$"), "etcd", "--port", String.valueOf(freePort()),
                    "--peer-port", String.valueOf(freePort()), "--data-dir", tmp.resolve("etcd").toString());
            var listening = Pattern.compile("catena server listening on (\\S+, blocks \\[\\d+, \\d+)\\)");
            List<String> addresses = new ArrayList<>();
            List<String> spans = new ArrayList<>();
            for (int i = 0; i < 3; i++) { // one after the other: each sees the ones before
                String[] got = startAndRead(started, listening, "server", "--model", MODEL.toString(), "--num-blocks", "3",
                        "--directory", uri, "--lease-ttl-s", "2", "--announce-every-s", "1", "--rebalance-every-s", "1").split(", blocks \\[");
                addresses.add(got[0]);
                spans.add(got[1]);
            }
            assertEquals(List.of("0, 3", "2, 5", "0, 3"), spans, "each fills the weakest blocks");
            var r = catena("generate", "--directory", uri, "--model", MODEL.toString(), "--prompt", "Once upon a time", "-n", "64",
                    "--greedy", "--json");
            assertEquals(0, r.exit(), r.err());
            assertArrayEquals(expected, ints(find(r.out(), "\"tokens\":\\[([^\\]]*)\\]")));

            started.get(2).destroyForcibly().waitFor(10, TimeUnit.SECONDS); // the only server of blocks 3 and 4, SIGKILL
            long t0 = System.nanoTime();
            String out;
            do {
                Thread.sleep(300);
                out = catena("status", "--directory", uri).out();
            } while ((out.contains(addresses.get(1)) || !out.contains("every block is covered")) && System.nanoTime() - t0 < 20_000_000_000L);
            assertTrue(!out.contains(addresses.get(1)) && out.contains("every block is covered"),
                    "the killed server's record went and another server moved to cover blocks 3 and 4:\n" + out);
            System.out.printf("blocks covered again %.1f s after the kill%n", (System.nanoTime() - t0) / 1e9);
            // Two servers that saw the gap at once may both have moved (each checks the directory again before it
            // commits, but a record takes a moment to reach the other): the gap they leave closes again. A
            // client during moves waits for coverage, as users are told to.
            r = catena("generate", "--directory", uri, "--model", MODEL.toString(), "--prompt", "Once upon a time", "-n", "64",
                    "--greedy", "--json", "--await-coverage-s", "15");
            assertEquals(0, r.exit(), r.err());
            assertArrayEquals(expected, ints(find(r.out(), "\"tokens\":\\[([^\\]]*)\\]")));
        } finally {
            for (Process p : started.reversed()) {
                p.destroy();
                if (!p.waitFor(30, TimeUnit.SECONDS)) p.destroyForcibly();
            }
        }
    }

    @Test
    void anUnknownDirectorySchemeListsTheKnownOnes() throws Exception {
        var r = catena("status", "--directory", "zk://127.0.0.1:1");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("known schemes are etcd, file, mem, static"), r.err());
        var bad = catena("status", "--directory", "etcd://127.0.0.1");
        assertEquals(2, bad.exit(), bad.err());
        assertTrue(bad.err().contains("is not HOST:PORT"), bad.err());
        assertNotNull(r.err());
    }
}

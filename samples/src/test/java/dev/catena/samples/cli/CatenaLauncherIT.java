package dev.catena.samples.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs {@code ./catena} from the repository root exactly as a user would, after packaging. */
class CatenaLauncherIT {
    static final Path REPO = Path.of(System.getProperty("catena.repo.dir", "..")).toAbsolutePath().normalize();
    static final Path MODEL = Path.of(System.getProperty("catena.models.dir", "../models"), "stories260K.gguf")
            .toAbsolutePath().normalize();

    record Run(int exit, String out, String err) {
    }

    static Run catena(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(REPO.resolve("catena").toString()));
        cmd.addAll(List.of(args));
        var pb = new ProcessBuilder(cmd).directory(REPO.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        var err = new java.util.concurrent.CompletableFuture<String>();
        Thread.ofVirtual().start(() -> {
            try {
                err.complete(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                err.completeExceptionally(e);
            }
        });
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "catena did not finish: " + cmd);
        return new Run(p.exitValue(), out, err.join());
    }

    static Run catena(String... args) throws IOException, InterruptedException {
        return catena(Map.of(), args);
    }

    @Test
    void infoJsonDescribesTheModel() throws Exception {
        Run r = catena("info", "--model", MODEL.toString(), "--json");
        assertEquals(0, r.exit(), r.err());
        String json = r.out().strip();
        assertTrue(json.startsWith("{") && json.endsWith("}") && !json.contains("\n"), "one JSON object on one line: " + json);
        for (String field : List.of("\"architecture\":\"llama\"", "\"n_layer\":5", "\"n_embd\":64", "\"n_head\":8",
                "\"n_head_kv\":4", "\"n_ff\":172", "\"n_vocab\":512", "\"n_ctx_train\":2048", "\"file_type\":\"",
                "\"tensors\":48")) {
            assertTrue(json.contains(field), field + " in " + json);
        }
    }

    @Test
    void infoWithoutAModelListsDevicesAndTransports() throws Exception {
        Run r = catena("info");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("engine: llama.cpp v0.5.0"), r.out());
        assertTrue(r.out().contains("type: cpu"), r.out());
        // Linux x86-64: Netty's epoll must load on the launcher's module path, not fall back to NIO.
        assertTrue(r.out().contains("netty (epoll)"), r.out());
        // The launcher grants the transport SPI native access, so signatures go through the system's libsodium, else OpenSSL.
        if (java.nio.file.Files.exists(java.nio.file.Path.of("/usr/lib/x86_64-linux-gnu/libsodium.so.23"))) {
            assertTrue(r.out().contains("signatures: Ed25519 by libsodium"), r.out());
        } else if (java.nio.file.Files.exists(java.nio.file.Path.of("/usr/lib/x86_64-linux-gnu/libcrypto.so.3"))) {
            assertTrue(r.out().contains("signatures: Ed25519 by OpenSSL"), r.out());
        }
    }

    @Test
    void helpAndUsageErrors() throws Exception {
        Run help = catena("--help");
        assertEquals(0, help.exit());
        Run bench = catena("bench", "nonsense");
        assertEquals(2, bench.exit());
        assertTrue(bench.err().contains("'nonsense'") && bench.err().contains("./catena bench --help"), bench.err());
        assertEquals(1, bench.err().lines().filter(l -> !l.startsWith("bench: building")).count(), "one line: " + bench.err());
        Run benchHelp = catena("bench", "swarm", "--help");
        assertEquals(0, benchHelp.exit(), benchHelp.err());
        assertTrue(benchHelp.out().contains("--scenario") && benchHelp.err().isEmpty(), benchHelp.out() + benchHelp.err());
        assertTrue(help.out().contains("info") && help.out().contains("bench") && help.out().contains("Exit codes"), help.out());
        assertEquals(0, catena("info", "--help").exit());
        Run bad = catena("info", "--no-such-option");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("Unknown option: '--no-such-option'"), bad.err());
    }

    @Test
    void badModelFilesExitWithThree(@TempDir Path tmp) throws Exception {
        Run missing = catena("info", "--model", tmp.resolve("absent.gguf").toString());
        assertEquals(3, missing.exit(), missing.err());
        assertTrue(missing.err().contains("absent.gguf: no such file"), missing.err());

        Path text = Files.writeString(tmp.resolve("notes.gguf"), "hello");
        Run notGguf = catena("info", "--model", text.toString());
        assertEquals(3, notGguf.exit(), notGguf.err());
        assertTrue(notGguf.err().contains("not a GGUF file"), notGguf.err());

        byte[] whole = Files.readAllBytes(MODEL);
        Path cut = Files.write(tmp.resolve("cut.gguf"), java.util.Arrays.copyOf(whole, whole.length / 2));
        Run truncated = catena("info", "--model", cut.toString());
        assertEquals(3, truncated.exit(), truncated.err());
        assertTrue(truncated.err().contains("truncated"), truncated.err());
        assertTrue(truncated.err().lines().count() <= 2, "a clear message, no stack trace: " + truncated.err());
    }

    @Test
    void missingNativesExitWithFourAndSayHow(@TempDir Path empty) throws Exception {
        Run r = catena(Map.of("CATENA_LLAMA_DIR", empty.toString()), "info", "--model", MODEL.toString());
        assertEquals(4, r.exit(), r.err());
        assertTrue(r.err().contains("llama.cpp libraries missing in " + empty), r.err());
    }
}

package dev.catena.samples.cli;

import dev.catena.core.Catena;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.catena.samples.cli.CatenaLauncherIT.MODEL;
import static dev.catena.samples.cli.CatenaLauncherIT.REPO;
import static dev.catena.samples.cli.CatenaLauncherIT.catena;
import static dev.catena.samples.cli.EtcdSwarmAcceptanceIT.tokens;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real Q8_0 copy of the demo model (llama.cpp's quantizer) under the same file name, served through
 * etcd: a client of the F32 model never uses it and says why, naming both models.
 */
class ModelTwinIT {

    /** {@code in} quantized to Q8_0 by llama.cpp's {@code llama_model_quantize}, in a process of its own. */
    static Path q8Copy(Path in, Path out) throws Exception {
        Files.createDirectories(out.getParent());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        var p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", REPO.resolve("samples/target/lib").resolve("*").toString(),
                "dev.catena.ffm.llama.LlamaQuantize", in.toString(), out.toString(), "q8_0").redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the quantizer did not finish");
        assertEquals(0, p.exitValue(), log);
        return out;
    }

    @Test
    void aQ8CopyUnderTheSameNameIsNeverUsedByAClientOfTheF32Model(@TempDir Path tmp) throws Exception {
        Path q8 = q8Copy(MODEL, tmp.resolve("q8").resolve(MODEL.getFileName()));
        String f32Id = Catena.modelId(MODEL);
        String q8Id = Catena.modelId(q8);
        assertNotEquals(f32Id, q8Id, "other tensor types: another model id");
        int[] expected = OracleCommandIT.Expected.firstCase().tokens();
        List<CatenaProcess> servers = new ArrayList<>();
        try (var etcd = EtcdCluster.start(tmp.resolve("etcd"), 1)) {
            try {
                String uri = etcd.uri().toString();
                var twin = CatenaProcess.server("--model", q8.toString(), "--blocks", "0:5", "--directory", uri);
                servers.add(twin);

                var refused = catena("generate", "--directory", uri, "--model", MODEL.toString(), "--prompt", "Once upon a time", "--greedy");
                assertEquals(5, refused.exit(), refused.err());
                assertTrue(refused.err().contains("no usable server covers blocks [0, 5)"), refused.err());
                assertTrue(refused.err().contains("servers of another model named stories260K.gguf")
                        && refused.err().contains("model id " + f32Id.substring(0, 12))
                        && refused.err().contains(twin.address() + " (model id " + q8Id.substring(0, 12)), "names both models: " + refused.err());

                var peers = catena("generate", "--peers", twin.address(), "--model", MODEL.toString(), "--prompt", "Once upon a time", "--greedy");
                assertNotEquals(0, peers.exit());
                assertTrue(peers.err().contains(twin.address() + " serves stories260K.gguf (model id " + q8Id.substring(0, 12))
                        && peers.err().contains("not this client's stories260K.gguf (model id " + f32Id.substring(0, 12)), peers.err());

                var own = CatenaProcess.server("--model", MODEL.toString(), "--blocks", "0:5", "--directory", uri);
                servers.add(own);
                var status = catena("status", "--directory", uri, "--json");
                assertTrue(status.out().contains(f32Id) && status.out().contains(q8Id), "both models listed: " + status.out());
                var r = catena("generate", "--directory", uri, "--model", MODEL.toString(), "--prompt", "Once upon a time", "-n", "64",
                        "--greedy", "--json");
                assertEquals(0, r.exit(), r.err());
                assertArrayEquals(expected, tokens(r.out()), "the route is the F32 server's");
            } finally {
                for (CatenaProcess s : servers.reversed()) s.close(); // while etcd runs: they withdraw at once
            }
        }
    }
}

package dev.catena.samples.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static dev.catena.samples.cli.CatenaLauncherIT.catena;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a newcomer meets first: the demo model as the default, quiet output, one-line errors, a real version. */
class FirstRunIT {

    /** The launcher's -Dcatena.home points elsewhere: a checkout whose models/ folder is damaged or gone. */
    private static Map<String, String> home(Path dir) {
        return Map.of("CATENA_JAVA_OPTS", "-Dcatena.home=" + dir);
    }

    @Test
    void withoutModelTheDemoModelRunsAndNothingNativeIsPrinted() throws Exception {
        int[] expected = OracleCommandIT.Expected.firstCase().tokens();
        var swarm = catena("swarm", "--servers", "3", "--prompt", "Once upon a time", "-n", "64", "--greedy", "--json");
        assertEquals(0, swarm.exit(), swarm.err());
        assertArrayEquals(expected, OracleCommandIT.ints(OracleCommandIT.find(swarm.out(), "\"tokens\":\\[([^\\]]*)\\]")));
        var local = catena("generate", "--local", "--prompt", "Once upon a time", "-n", "64", "--greedy", "--json");
        assertEquals(0, local.exit(), local.err());
        assertArrayEquals(expected, OracleCommandIT.ints(OracleCommandIT.find(local.out(), "\"tokens\":\\[([^\\]]*)\\]")));
        for (var r : new CatenaLauncherIT.Run[]{swarm, local}) {
            // llama.cpp's vocabulary-loader warnings and Netty's hardware-address notice stay out of sight.
            assertFalse(r.err().contains("bad special token"), r.err());
            assertFalse(r.err().contains("hardware address"), r.err());
            assertFalse(r.err().contains("WARNING"), r.err());
        }
        var verbose = catena("generate", "--local", "--prompt", "Once", "-n", "2", "--verbose");
        assertEquals(0, verbose.exit(), verbose.err());
        assertTrue(verbose.err().contains("bad special token"), "--verbose shows llama.cpp's log: " + verbose.err());
    }

    @Test
    void aDamagedOrMissingDemoModelSaysHowToRestoreIt(@TempDir Path home) throws Exception {
        Files.createDirectories(home.resolve("models"));
        var missing = catena(home(home), "swarm", "--prompt", "x", "-n", "1");
        assertEquals(3, missing.exit(), missing.err());
        assertTrue(missing.err().contains("demo model is missing") && missing.err().contains("git checkout models/"), missing.err());

        byte[] model = Files.readAllBytes(CatenaLauncherIT.MODEL);
        model[model.length / 2] ^= 1;
        Files.write(home.resolve("models/stories260K.gguf"), model);
        var damaged = catena(home(home), "generate", "--local", "--prompt", "x", "-n", "1");
        assertEquals(3, damaged.exit(), damaged.err());
        assertTrue(damaged.err().contains("demo model is damaged") && damaged.err().contains("git checkout models/"), damaged.err());
        assertEquals(1, damaged.err().strip().lines().count(), damaged.err());

        // An explicit --model is the user's own file: no checksum, it just runs.
        Path copy = Files.copy(CatenaLauncherIT.MODEL, home.resolve("mine.gguf"));
        var explicit = catena(home(home), "generate", "--local", "--model", copy.toString(), "--prompt", "x", "-n", "1");
        assertEquals(0, explicit.exit(), explicit.err());
    }

    @Test
    void unknownCommandsAndBadValuesAreOneLineAndExitTwo() throws Exception {
        var unknown = catena("serv", "--help");
        assertEquals(2, unknown.exit(), unknown.out() + unknown.err());
        assertTrue(unknown.err().contains("unknown command 'serv'"), unknown.err());
        assertTrue(unknown.out().isEmpty(), "no help page for an unknown command: " + unknown.out());

        var tooLong = catena("generate", "--local", "--prompt", "x", "--ctx", "512", "-n", "600");
        assertEquals(2, tooLong.exit(), tooLong.err());
        assertEquals(1, tooLong.err().strip().lines().count(), "one line, no usage page: " + tooLong.err());
        assertTrue(tooLong.err().contains("exceed max length 512"), tooLong.err());

        var fraction = catena("swarm", "--servers", "2", "--prompt", "x", "-n", "1", "--signature-checks", "2");
        assertEquals(2, fraction.exit(), fraction.err());
        assertTrue(fraction.err().contains("--signature-checks must be in [0, 1], got 2.0"), fraction.err());
        // The same options, the same check, on a client of remote servers (refused before any connection is tried).
        var spot = catena("generate", "--peers", "127.0.0.1:9", "--prompt", "x", "-n", "1", "--spot-check", "1.5");
        assertEquals(2, spot.exit(), spot.err());
        assertTrue(spot.err().contains("--spot-check must be in [0, 1], got 1.5"), spot.err());
        var tolerance = catena("generate", "--peers", "127.0.0.1:9", "--prompt", "x", "-n", "1", "--spot-check-tolerance", "0");
        assertEquals(2, tolerance.exit(), tolerance.err());
        assertTrue(tolerance.err().contains("--spot-check-tolerance must be in (0, 1), got 0.0"), tolerance.err());
    }

    @Test
    void withoutCtxTheContextIsThePromptPlusNWithinTheTrainedContext() throws Exception {
        // 600 tokens did not fit the old fixed 512-token default; the model's trained context is 2048.
        var fits = catena("generate", "--local", "--prompt", "x", "-n", "600", "--ignore-eos", "--json");
        assertEquals(0, fits.exit(), fits.err());
        assertEquals(600, OracleCommandIT.ints(OracleCommandIT.find(fits.out(), "\"tokens\":\\[([^\\]]*)\\]")).length);
        var beyond = catena("generate", "--local", "--prompt", "x", "-n", "2100");
        assertEquals(2, beyond.exit(), beyond.err());
        assertTrue(beyond.err().contains("exceed max length 2048 (the model's trained context)"), beyond.err());
    }

    @Test
    void versionNamesTheBuildTheEngineAndTheCommit() throws Exception {
        var v = catena("--version");
        assertEquals(0, v.exit(), v.err());
        assertTrue(v.out().startsWith("catena 0."), v.out());
        assertFalse(v.out().contains("development build"), v.out());
        assertTrue(v.out().contains("llama.cpp v0.5.0"), v.out());
        if (Files.exists(CatenaLauncherIT.REPO.resolve(".git"))) { // a copy of the sources without git names no commit
            assertTrue(v.out().matches("(?s).*git commit [0-9a-f]{7,}.*"), v.out());
        }
    }
}

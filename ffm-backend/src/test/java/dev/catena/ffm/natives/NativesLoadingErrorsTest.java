package dev.catena.ffm.natives;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each case needs a fresh JVM: the natives load once per process. */
class NativesLoadingErrorsTest {

    record Outcome(int exit, String output) {
    }

    static Outcome runProbe(List<String> jvmArgs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(NativesProbeMain.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe JVM did not finish");
        return new Outcome(p.exitValue(), out);
    }

    @Test
    void loadsWithTheFlag() throws Exception {
        var o = runProbe(List.of("--enable-native-access=ALL-UNNAMED"));
        assertEquals(0, o.exit(), o.output());
        assertTrue(o.output().startsWith("LOADED "), o.output());
    }

    @Test
    void missingNativeAccessFlagIsNamed() throws Exception {
        var o = runProbe(List.of());
        assertEquals(4, o.exit(), o.output());
        assertTrue(o.output().contains("native access is not enabled") && o.output().contains("--enable-native-access=ALL-UNNAMED"),
                o.output());
    }

    @Test
    void aLibraryDirectoryWithoutLibrariesSaysWhatIsMissingAndHowToFixIt(@TempDir Path empty) throws Exception {
        var o = runProbe(List.of("--enable-native-access=ALL-UNNAMED", "-Dcatena.llama.dir=" + empty));
        assertEquals(4, o.exit(), o.output());
        assertTrue(o.output().contains("llama.cpp libraries missing in " + empty), o.output());
        assertTrue(o.output().contains("libllama.so") && o.output().contains("libggml-base.so"), o.output());
        assertTrue(o.output().contains("unset it to use the CPU build bundled"), o.output());
    }

    @Test
    void aLibraryDirectoryThatDoesNotExistIsNamed(@TempDir Path tmp) throws Exception {
        Path nowhere = tmp.resolve("nowhere");
        var o = runProbe(List.of("--enable-native-access=ALL-UNNAMED", "-Dcatena.llama.dir=" + nowhere));
        assertEquals(4, o.exit(), o.output());
        assertTrue(o.output().contains(nowhere + ", which is not a directory"), o.output());
    }

    @Test
    void aUserBuildDirectoryIsUsedInsteadOfTheBundledOne(@TempDir Path own) throws Exception {
        // A copy of the bundled build stands in for a user's own llama.cpp build.
        Path bundled = NativeCache.extract(LlamaNatives.class, LlamaNatives.RESOURCES, "vtest", own.resolve("cache"));
        Path build = Files.createDirectory(own.resolve("build"));
        try (var files = Files.list(bundled)) {
            for (Path f : files.toList()) {
                Files.copy(f, build.resolve(f.getFileName()));
            }
        }
        var o = runProbe(List.of("--enable-native-access=ALL-UNNAMED", "-Dcatena.llama.dir=" + build));
        assertEquals(0, o.exit(), o.output());
        assertTrue(o.output().contains("LOADED " + build), o.output());
    }
}

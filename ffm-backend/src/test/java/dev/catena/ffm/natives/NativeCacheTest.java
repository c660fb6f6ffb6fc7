package dev.catena.ffm.natives;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NativeCacheTest {

    @Test
    void extractsEveryBundledFileIntoAVersionedDirectory(@TempDir Path root) throws Exception {
        Path dir = NativeCache.extract(LlamaNatives.class, LlamaNatives.RESOURCES, "vtest", root);
        assertTrue(dir.getFileName().toString().startsWith("vtest-"), dir.toString());
        var manifest = NativeCache.parseManifest(Files.readString(dir.resolve(NativeCache.MANIFEST)));
        assertTrue(manifest.containsKey("libllama.v0.5.0.so") && manifest.containsKey("libggml-base.so"), manifest.keySet().toString());
        assertTrue(manifest.keySet().stream().anyMatch(n -> n.startsWith("libggml-cpu-")), "CPU variants bundled");
        for (String name : manifest.keySet()) {
            try (var in = LlamaNatives.class.getResourceAsStream(LlamaNatives.RESOURCES + name)) {
                assertArrayEquals(in.readAllBytes(), Files.readAllBytes(dir.resolve(name)), name);
            }
        }
        try (var leftovers = Files.list(root.resolve("natives"))) {
            assertEquals(List.of(dir), leftovers.toList(), "no staging directory left behind");
        }
    }

    @Test
    void concurrentExtractorsAgreeOnOneDirectory(@TempDir Path root) throws Exception {
        int n = 4;
        var barrier = new CyclicBarrier(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Path>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Callable<Path> task = () -> {
                    barrier.await();
                    return NativeCache.extract(LlamaNatives.class, LlamaNatives.RESOURCES, "vtest", root);
                };
                results.add(pool.submit(task));
            }
            var dirs = new HashSet<Path>();
            for (var f : results) {
                dirs.add(f.get());
            }
            assertEquals(1, dirs.size(), dirs.toString());
            try (var entries = Files.list(root.resolve("natives"))) {
                assertEquals(1, entries.count(), "losers of the race removed their staging directories");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aDamagedCacheIsExtractedAgain(@TempDir Path root) throws Exception {
        Path dir = NativeCache.extract(LlamaNatives.class, LlamaNatives.RESOURCES, "vtest", root);
        Path lib = dir.resolve("libggml-base.so");
        byte[] good = Files.readAllBytes(lib);
        Files.write(lib, new byte[]{1, 2, 3});
        Path again = NativeCache.extract(LlamaNatives.class, LlamaNatives.RESOURCES, "vtest", root);
        assertEquals(dir, again);
        assertArrayEquals(good, Files.readAllBytes(lib));
    }

    @Test
    void aJarWithoutNativesYieldsNull(@TempDir Path root) throws Exception {
        assertNull(NativeCache.extract(LlamaNatives.class, "/dev/catena/ffm/natives/no-such-platform/", "vtest", root));
    }

    @Test
    void malformedManifestLinesAreRefused() {
        assertThrows(IllegalStateException.class, () -> NativeCache.parseManifest("abc libx.so\n"));
        assertThrows(IllegalStateException.class,
                () -> NativeCache.parseManifest("0".repeat(64) + "  ../escape.so\n"));
    }
}

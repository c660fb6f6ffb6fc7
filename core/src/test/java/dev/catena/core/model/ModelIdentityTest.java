package dev.catena.core.model;

import dev.catena.api.BlockRange;
import dev.catena.api.ModelFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The model fingerprint covers metadata and tensor infos, not the file name; span digests cover the blocks' weights. */
class ModelIdentityTest {
    static final Path MODEL = Path.of(System.getProperty("catena.models.dir", "../models"), "stories260K.gguf").toAbsolutePath();

    /** Overwrites one byte of {@code file} at {@code pos} with its complement. */
    static void flip(Path file, long pos) throws Exception {
        try (var raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(pos);
            int b = raf.read();
            raf.seek(pos);
            raf.write(~b & 0xff);
        }
    }

    @Test
    void blockDigestsAreCachedAndReadBackByTheNextRun(@TempDir Path tmp) throws Exception {
        Path copy = Files.copy(MODEL, tmp.resolve("cached.gguf"));
        String before = System.getProperty("catena.cache.dir");
        System.setProperty("catena.cache.dir", tmp.resolve("cache").toString());
        try {
            String digest = ModelIdentity.of(copy).weightsDigest(new BlockRange(1, 3));
            Path cache;
            try (var files = Files.list(tmp.resolve("cache").resolve("digests"))) {
                cache = files.findFirst().orElseThrow();
            }
            assertEquals(2, Files.readAllLines(cache).size(), "blocks 1 and 2, one line each");
            // A corrupted cached digest is what the next process reads (the file is not read again).
            var lines = Files.readAllLines(cache);
            Files.write(cache, List.of(lines.get(0).substring(0, lines.get(0).length() - 64) + "0".repeat(64), lines.get(1)));
            ModelIdentityAccess.forget(copy);
            assertNotEquals(digest, ModelIdentity.of(copy).weightsDigest(new BlockRange(1, 3)), "read from the cache");
        } finally {
            if (before == null) System.clearProperty("catena.cache.dir"); else System.setProperty("catena.cache.dir", before);
        }
    }

    @Test
    void theFingerprintIsTheContentNotTheName(@TempDir Path tmp) throws Exception {
        var original = ModelIdentity.of(MODEL);
        assertEquals(64, original.fingerprint().length());
        Path renamed = Files.copy(MODEL, tmp.resolve("renamed.gguf"));
        assertEquals(original.fingerprint(), ModelIdentity.of(renamed).fingerprint(), "a copy under another name is the same model");
        assertEquals("renamed.gguf", ModelIdentity.of(renamed).name());

        Path otherMeta = Files.copy(MODEL, tmp.resolve("dir-b-stories260K.gguf"));
        byte[] bytes = Files.readAllBytes(MODEL);
        int at = new String(bytes, 0, 65536, StandardCharsets.ISO_8859_1).indexOf("general.name");
        assertNotEquals(-1, at);
        flip(otherMeta, at + "general.name".length() + 4 + 8); // the value's first letter (after its type and length)
        assertNotEquals(original.fingerprint(), ModelIdentity.of(otherMeta).fingerprint(), "other metadata: another model");
    }

    @Test
    void aSpanDigestChangesWithItsBlocksWeightsOnly(@TempDir Path tmp) throws Exception {
        var original = ModelIdentity.of(MODEL);
        Path copy = Files.copy(MODEL, tmp.resolve("stories260K.gguf"));
        long[] range = original.tensorRange("blk.3.attn_q.weight");
        assertNotNull(range, "block 3 has an attn_q tensor");
        flip(copy, (range[0] + range[1]) / 2);
        var changed = ModelIdentity.of(copy);
        assertEquals(original.fingerprint(), changed.fingerprint(), "the same metadata and tensor infos");
        assertEquals(original.weightsDigest(new BlockRange(0, 3)), changed.weightsDigest(new BlockRange(0, 3)));
        assertNotEquals(original.weightsDigest(new BlockRange(3, 5)), changed.weightsDigest(new BlockRange(3, 5)));
        assertNotEquals(original.weightsDigest(new BlockRange(0, 3)), original.weightsDigest(new BlockRange(0, 4)));
    }

    @Test
    void notAGgufIsAModelFormatError(@TempDir Path tmp) throws Exception {
        Path junk = Files.writeString(tmp.resolve("junk.gguf"), "not a model at all, but long enough to have a header");
        assertThrows(ModelFormatException.class, () -> ModelIdentity.of(junk));
        assertEquals("junk.gguf", ModelIdentity.idOf(junk), "the backend reports what is wrong when it loads it");
        Path truncated = tmp.resolve("truncated.gguf");
        Files.write(truncated, java.util.Arrays.copyOf(Files.readAllBytes(MODEL), 4000));
        assertThrows(ModelFormatException.class, () -> ModelIdentity.of(truncated));
    }
}

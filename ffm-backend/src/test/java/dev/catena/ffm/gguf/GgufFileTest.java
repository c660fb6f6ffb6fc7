package dev.catena.ffm.gguf;

import dev.catena.api.ModelFormatException;
import dev.catena.ffm.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GgufFileTest {

    @Test
    void readsHeaderMetadataAndTensorTable() {
        GgufFile f = GgufFile.read(TestModels.stories260K());
        assertEquals(3, f.version());
        assertEquals(32, f.alignment());
        assertEquals(14176, f.dataOffset(), "models/README.md: tensor data starts at byte 14176");
        assertEquals(1_185_376, f.fileSize());
        assertEquals("llama", f.string("general.architecture").orElseThrow());
        assertEquals(5L, f.integer("llama.block_count").orElseThrow());
        assertEquals(64L, f.integer("llama.embedding_length").orElseThrow());
        assertEquals(2048L, f.integer("llama.context_length").orElseThrow());
        var tokens = (GgufArray) f.metadata().get("tokenizer.ggml.tokens");
        assertEquals(512, tokens.length());
        assertEquals("<s>", tokens.strings().get(1));
        assertEquals("<0x0A>", tokens.strings().get(13), "byte b is token b+3");
        assertEquals(48, f.tensors().size());
        GgufTensor embd = f.tensor("token_embd.weight").orElseThrow();
        assertArrayEquals(new long[]{64, 512, 1, 1}, embd.ne());
        assertEquals("f32", embd.typeName());
        assertEquals(64L * 512 * 4, embd.bytes());
        GgufTensor down = f.tensor("blk.4.ffn_down.weight").orElseThrow();
        assertArrayEquals(new long[]{172, 64, 1, 1}, down.ne());
        assertTrue(f.tensors().stream().allMatch(t -> t.offset() % f.alignment() == 0), "tensor data is aligned");
    }

    @Test
    void aMissingFileIsNamed(@TempDir Path tmp) {
        var e = assertThrows(ModelFormatException.class, () -> GgufFile.read(tmp.resolve("absent.gguf")));
        assertTrue(e.getMessage().endsWith("absent.gguf: no such file"), e.getMessage());
    }

    @Test
    void aDirectoryIsRefused(@TempDir Path tmp) {
        var e = assertThrows(ModelFormatException.class, () -> GgufFile.read(tmp));
        assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
    }

    @Test
    void aFileThatIsNotGgufIsRefused(@TempDir Path tmp) throws Exception {
        Path txt = Files.writeString(tmp.resolve("model.gguf"), "this is not a model\n");
        var e = assertThrows(ModelFormatException.class, () -> GgufFile.read(txt));
        assertTrue(e.getMessage().contains("not a GGUF file"), e.getMessage());
        Path empty = Files.write(tmp.resolve("empty.gguf"), new byte[0]);
        assertThrows(ModelFormatException.class, () -> GgufFile.read(empty));
    }

    @Test
    void aFileCutInsideItsTensorDataIsTruncated(@TempDir Path tmp) throws Exception {
        byte[] whole = Files.readAllBytes(TestModels.stories260K());
        Path cut = Files.write(tmp.resolve("cut.gguf"), Arrays.copyOf(whole, 600_000));
        var e = assertThrows(ModelFormatException.class, () -> GgufFile.read(cut));
        assertTrue(e.getMessage().contains("truncated: the tensor data needs 1185376 bytes, the file has 600000"),
                e.getMessage());
    }

    @Test
    void aFileCutInsideItsHeaderIsMalformed(@TempDir Path tmp) throws Exception {
        byte[] whole = Files.readAllBytes(TestModels.stories260K());
        Path cut = Files.write(tmp.resolve("cut.gguf"), Arrays.copyOf(whole, 5000));
        var e = assertThrows(ModelFormatException.class, () -> GgufFile.read(cut));
        assertTrue(e.getMessage().contains("malformed GGUF (ggml: "), e.getMessage());
    }

    /** Corrupted headers must become errors, never a crash of the JVM. */
    @Test
    void corruptedHeadersAreRefusedOrReadButNeverCrash(@TempDir Path tmp) throws Exception {
        long seed = Long.getLong("catena.test.seed", 20261126L);
        var random = new Random(seed);
        byte[] whole = Files.readAllBytes(TestModels.stories260K());
        int refused = 0;
        for (int i = 0; i < 300; i++) {
            byte[] bytes = whole.clone();
            int flips = 1 + random.nextInt(4);
            for (int k = 0; k < flips; k++) {
                // Keep the magic so that ggml's parser, not our pre-check, meets the damage.
                int at = 4 + random.nextInt(14176 - 4);
                bytes[at] = (byte) random.nextInt(256);
            }
            Path p = Files.write(tmp.resolve("m" + i + ".gguf"), bytes);
            try {
                GgufFile.read(p);
            } catch (ModelFormatException expected) {
                refused++;
            } catch (RuntimeException other) {
                throw new AssertionError("seed " + seed + " case " + i + ": " + other, other);
            }
        }
        assertTrue(refused > 0, "seed " + seed + ": some corruptions must be detected");
    }
}

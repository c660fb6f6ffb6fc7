package dev.catena.ffm.llama;

import dev.catena.ffm.TestModels;
import dev.catena.ffm.gguf.GgufFile;
import dev.catena.ffm.gguf.GgufTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** llama.cpp's quantizer through the bindings: a real Q8_0 copy of the F32 demo model. */
class LlamaQuantizeTest {

    @Test
    void writesAQ8CopyWithTheSameTensorsAndMetadata(@TempDir Path tmp) {
        Path f32 = TestModels.stories260K();
        Path q8 = tmp.resolve("stories260K.gguf");
        LlamaQuantize.quantize(f32, q8, "q8_0", 1);
        GgufFile in = GgufFile.read(f32);
        GgufFile out = GgufFile.read(q8);
        assertEquals(in.tensors().stream().map(GgufTensor::name).sorted().toList(), out.tensors().stream().map(GgufTensor::name).sorted().toList(),
                "the same tensors (llama.cpp writes them in its own order)");
        assertEquals(in.string("general.name"), out.string("general.name"));
        assertEquals("f32", in.tensor("blk.0.attn_q.weight").orElseThrow().typeName());
        assertEquals("q8_0", out.tensor("blk.0.attn_q.weight").orElseThrow().typeName(), "matrix weights are Q8_0");
        assertEquals("f32", out.tensor("blk.0.attn_norm.weight").orElseThrow().typeName(), "norms stay F32, as llama-quantize leaves them");
        assertEquals(7L, out.integer("general.file_type").orElseThrow(), "LLAMA_FTYPE_MOSTLY_Q8_0");
        assertTrue(out.fileSize() < in.fileSize() / 2, out.fileSize() + " bytes against " + in.fileSize());
        try (LlamaModel m = LlamaModel.load(q8, 1)) {
            assertTrue(m.toString().contains(q8.toString()), "llama.cpp loads the copy");
        }
    }

    @Test
    void refusesBadArgumentsClearly(@TempDir Path tmp) throws Exception {
        Path f32 = TestModels.stories260K();
        var unknown = assertThrows(IllegalArgumentException.class, () -> LlamaQuantize.quantize(f32, tmp.resolve("a.gguf"), "q9", 1));
        assertTrue(unknown.getMessage().contains("unknown type 'q9'"), unknown.getMessage());
        var missing = assertThrows(IllegalArgumentException.class,
                () -> LlamaQuantize.quantize(tmp.resolve("none.gguf"), tmp.resolve("b.gguf"), "q8_0", 1));
        assertTrue(missing.getMessage().contains("no model file at"), missing.getMessage());
        Path exists = Files.writeString(tmp.resolve("c.gguf"), "x");
        var kept = assertThrows(IllegalArgumentException.class, () -> LlamaQuantize.quantize(f32, exists, "q8_0", 1));
        assertTrue(kept.getMessage().contains("not overwriting"), kept.getMessage());
        var notGguf = assertThrows(IllegalStateException.class, () -> LlamaQuantize.quantize(exists, tmp.resolve("d.gguf"), "q8_0", 1));
        assertTrue(notGguf.getMessage().contains("failed"), notGguf.getMessage());
        assertEquals(List.of("x"), Files.readAllLines(exists));
    }
}

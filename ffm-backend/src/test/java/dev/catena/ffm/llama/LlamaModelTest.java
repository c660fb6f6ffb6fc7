package dev.catena.ffm.llama;

import dev.catena.api.BackendUnavailableException;
import dev.catena.api.ModelFormatException;
import dev.catena.api.UnsupportedModelException;
import dev.catena.api.spi.ReferenceOptions;
import dev.catena.ffm.FfmSpanBackend;
import dev.catena.ffm.TestModels;
import dev.catena.ffm.natives.LlamaNatives;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static dev.catena.ffm.internal.ggml_h.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Loading, and the errors for files llama.cpp cannot use: clear exceptions, never a crash. */
class LlamaModelTest {

    /** A GGUF with only the given string metadata and no tensors, written by ggml's own gguf writer. */
    static Path writeGguf(Path file, Map<String, String> metadata) {
        LlamaNatives.lookup();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ctx = gguf_init_empty().reinterpret(arena, c -> gguf_free(c));
            metadata.forEach((k, v) -> gguf_set_val_str(ctx, arena.allocateFrom(k), arena.allocateFrom(v)));
            assertTrue(gguf_write_to_file(ctx, arena.allocateFrom(file.toString()), false), "gguf_write_to_file " + file);
        }
        return file;
    }

    @Test
    void loadsTheTinyStoriesModel() {
        try (LlamaModel m = LlamaModel.load(TestModels.stories260K(), 1)) {
            assertEquals(5, m.nLayer());
            assertEquals(64, m.nEmbd());
            assertEquals(2048, m.nCtxTrain());
            assertEquals(512, m.vocab().nVocab());
            assertTrue(m.description().startsWith("llama"), m.description());
        }
        assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(TestModels.stories260K(), 0));
    }

    /** Without a GPU: cuda is refused with the fix named, auto is the CPU, anything else is a bad argument. */
    @Test
    void deviceChoiceWithoutAGpu() {
        LlamaNatives.lookup();
        assumeTrue(ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_GPU()).equals(MemorySegment.NULL), "a GPU is present");
        Path model = TestModels.stories260K();
        var e = assertThrows(BackendUnavailableException.class, () -> LlamaModel.load(model, 1, "cuda"));
        assertTrue(e.getMessage().contains(LlamaNatives.DIR_PROPERTY), e.getMessage());
        try (LlamaModel m = LlamaModel.load(model, 1, "auto")) {
            assertEquals("cpu", m.device());
        }
        try (LlamaModel m = LlamaModel.load(model, 1)) {
            assertEquals("cpu", m.device());
        }
        assertThrows(IllegalArgumentException.class, () -> LlamaModel.load(model, 1, "gpu"));
        assertThrows(IllegalArgumentException.class, () -> OracleOptions.defaults().withDevice("gpu"));
        assertEquals("cpu", OracleOptions.defaults().device());
        assertThrows(BackendUnavailableException.class,
                () -> LlamaOracle.open(model, OracleOptions.defaults().withThreads(1).withDevice("cuda")).close());
    }

    @Test
    void aMissingFileIsAFormatError(@TempDir Path tmp) {
        Path missing = tmp.resolve("absent.gguf");
        var e = assertThrows(ModelFormatException.class, () -> LlamaModel.load(missing, 1));
        assertTrue(e.getMessage().contains("absent.gguf: no such file"), e.getMessage());
        assertThrows(ModelFormatException.class, () -> LlamaModel.vocabOnly(missing));
    }

    @Test
    void aFileThatIsNotGgufIsAFormatError(@TempDir Path tmp) throws Exception {
        Path text = Files.writeString(tmp.resolve("notes.gguf"), "hello, not a model");
        var e = assertThrows(ModelFormatException.class, () -> LlamaModel.load(text, 1));
        assertTrue(e.getMessage().contains("not a GGUF file"), e.getMessage());
    }

    @Test
    void aTruncatedFileIsAFormatError(@TempDir Path tmp) throws Exception {
        byte[] whole = Files.readAllBytes(TestModels.stories260K());
        Path cut = Files.write(tmp.resolve("cut.gguf"), Arrays.copyOf(whole, whole.length - 1000));
        var e = assertThrows(ModelFormatException.class, () -> LlamaOracle.open(cut, OracleOptions.defaults()));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void anUnknownArchitectureIsUnsupported(@TempDir Path tmp) {
        Path nonsense = writeGguf(tmp.resolve("nonsense.gguf"), Map.of("general.architecture", "nonsense"));
        for (var attempt : java.util.List.<Runnable>of(
                () -> LlamaModel.load(nonsense, 1).close(),
                () -> LlamaModel.vocabOnly(nonsense).close(),
                () -> LlamaOracle.open(nonsense, OracleOptions.defaults()).close(),
                () -> FfmSpanBackend.instance().openReference(nonsense, ReferenceOptions.defaults(1)).close())) {
            var e = assertThrows(UnsupportedModelException.class, attempt::run);
            assertTrue(e.getMessage().contains("unknown model architecture: 'nonsense'"),
                    "llama.cpp's own reason, not only its final 'failed to load model': " + e.getMessage());
            assertTrue(e.getMessage().startsWith(nonsense.toString()), e.getMessage());
        }
    }

    @Test
    void aKnownArchitectureWithoutItsKeysIsAFormatError(@TempDir Path tmp) {
        Path bare = writeGguf(tmp.resolve("bare-llama.gguf"), Map.of("general.architecture", "llama"));
        var e = assertThrows(ModelFormatException.class, () -> LlamaModel.load(bare, 1));
        assertTrue(e.getMessage().contains("llama.cpp cannot load it:") && e.getMessage().contains("llama."),
                "names the missing key: " + e.getMessage());
    }

    @Test
    void errorsLeaveLlamaCppUsable(@TempDir Path tmp) {
        Path nonsense = writeGguf(tmp.resolve("nonsense.gguf"), Map.of("general.architecture", "nonsense"));
        for (int i = 0; i < 3; i++) {
            assertThrows(UnsupportedModelException.class, () -> LlamaModel.vocabOnly(nonsense));
        }
        try (LlamaModel m = LlamaModel.vocabOnly(TestModels.stories260K())) {
            assertEquals(512, m.vocab().nVocab());
        }
        assertEquals(java.util.Optional.empty(), LlamaNatives.takeErrors(), "a successful load leaves no error behind");
    }
}

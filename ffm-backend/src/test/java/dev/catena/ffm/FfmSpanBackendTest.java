package dev.catena.ffm;

import dev.catena.api.ModelFormatException;
import dev.catena.api.ModelInfo;
import dev.catena.api.spi.SpanBackendProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FfmSpanBackendTest {

    @Test
    void isFoundByServiceLoaderAndAvailable() {
        var provider = ServiceLoader.load(SpanBackendProvider.class).stream()
                .map(ServiceLoader.Provider::get).filter(p -> p.name().equals("ffm")).findFirst().orElseThrow();
        assertTrue(provider.isAvailable(), () -> String.valueOf(provider.unavailabilityCause()));
        assertEquals("llama.cpp v0.5.0", provider.backend().engineVersion());
    }

    @Test
    void inspectsTheTinyStoriesModel() {
        ModelInfo m = FfmSpanBackend.instance().inspect(TestModels.stories260K());
        assertEquals("llama", m.architecture());
        assertEquals(5, m.nLayer());
        assertEquals(64, m.nEmbd());
        assertEquals(8, m.nHead());
        assertEquals(4, m.nHeadKv());
        assertEquals(172, m.nFf());
        assertEquals(512, m.nVocab());
        assertEquals(2048, m.nCtxTrain());
        assertEquals(48, m.tensors());
        assertEquals(3, m.ggufVersion());
        assertEquals("ALL_F32 (guessed)", m.fileType(), "the file has no general.file_type; all its weights are F32");
    }

    @Test
    void fileTypeNamesComeFromLlamaCpp() {
        assertEquals("ALL_F32", ModelInfos.fileTypeName(0));
        assertEquals("MOSTLY_Q4_K_M", ModelInfos.fileTypeName(15));
        assertEquals("MOSTLY_BF16", ModelInfos.fileTypeName(32));
        assertEquals("UNKNOWN(4)", ModelInfos.fileTypeName(4), "4 was removed from llama.cpp");
        assertEquals("UNKNOWN", ModelInfos.fileTypeName(-1));
    }

    @Test
    void aGgufWithoutArchitectureIsNotAModel(@TempDir Path tmp) throws Exception {
        // Smallest valid GGUF: magic, version 3, no tensors, no metadata.
        byte[] header = {'G', 'G', 'U', 'F', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        Path p = Files.write(tmp.resolve("empty.gguf"), header);
        var e = assertThrows(ModelFormatException.class, () -> FfmSpanBackend.instance().inspect(p));
        assertTrue(e.getMessage().contains("no general.architecture key"), e.getMessage());
    }
}

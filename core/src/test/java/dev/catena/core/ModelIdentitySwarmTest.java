package dev.catena.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.catena.core.CatenaApiTest.MODEL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Clients use only servers of their own model: another model under the same file name is refused
 * with both named, and servers with other weights for the same blocks are never put in a route.
 */
class ModelIdentitySwarmTest {

    static GenerationRequest greedy(int n) {
        return GenerationRequest.builder("Once upon a time").maxTokens(n).greedy().ignoreEos().build();
    }

    @Test
    void aServerOfAnotherModelUnderTheSameNameIsRefusedNamingBoth(@TempDir Path tmp) throws Exception {
        Path other = Files.createDirectories(tmp.resolve("other")).resolve("stories260K.gguf");
        Files.copy(MODEL, other);
        byte[] bytes = Files.readAllBytes(MODEL);
        int at = new String(bytes, 0, 65536, StandardCharsets.ISO_8859_1).indexOf("general.name");
        assertTrue(at > 0);
        try (var raf = new java.io.RandomAccessFile(other.toFile(), "rw")) { // the first letter of general.name's value: other metadata
            raf.seek(at + "general.name".length() + 4 + 8);
            raf.write('X');
        }
        try (CatenaServer s = Catena.server(other).start()) {
            var e = assertThrows(SwarmException.class, () -> Catena.client(MODEL).peers(s.address()).build());
            assertTrue(e.getMessage().contains(s.address() + " serves stories260K.gguf (model id ")
                    && e.getMessage().contains("not this client's stories260K.gguf (model id "), e.getMessage());
        }
    }

    @Test
    void serversWithOtherWeightsAreNeverMixedIntoARoute(@TempDir Path tmp) throws Exception {
        Path copy = Files.createDirectories(tmp.resolve("tuned")).resolve("stories260K.gguf");
        Files.copy(MODEL, copy);
        long[] range = dev.catena.core.model.ModelIdentityAccess.tensorRange(MODEL, "blk.3.ffn_up.weight");
        try (var raf = new java.io.RandomAccessFile(copy.toFile(), "rw")) {
            raf.seek((range[0] + range[1]) / 2);
            raf.write(0x55);
        }
        assertEquals(Catena.modelId(MODEL), Catena.modelId(copy), "the same metadata: the same model id");
        URI dir = URI.create("mem:weights-" + System.nanoTime());
        try (CatenaServer head = Catena.server(MODEL).blocks(0, 3).directory(dir).start();
             CatenaServer tuned = Catena.server(copy).blocks(3, 5).directory(dir).start()) {
            var e = assertThrows(SwarmException.NoRoute.class, () -> Catena.client(MODEL).directory(dir).build());
            assertTrue(e.getMessage().contains("left out for other weights: " + tuned.address()), e.getMessage());
            try (CatenaServer tail = Catena.server(MODEL).blocks(3, 5).directory(dir).start();
                 CatenaClient client = Catena.client(MODEL).directory(dir).build();
                 var local = Catena.local(MODEL).build()) {
                assertEquals(local.generate(greedy(12)).tokens(), client.generate(greedy(12)).tokens(),
                        "the route uses the server with this model's weights");
            }
        }
    }
}

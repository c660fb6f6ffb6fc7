package dev.catena.core;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;
import dev.catena.core.security.RecordSignatures;
import org.junit.jupiter.api.Test;

import java.net.URI;

import static dev.catena.core.CatenaApiTest.MODEL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Servers sign their directory records; a client uses a record only when the key it names signed it,
 * and connects to its address only when the server there proves that key.
 */
class SignedRecordsTest {

    static GenerationRequest greedy(int n) {
        return GenerationRequest.builder("Once upon a time").maxTokens(n).greedy().ignoreEos().build();
    }

    /** The record a server of blocks {@code span} at {@code address} would announce, signed by {@code signer}. */
    private static ServerRecord record(String address, BlockRange span, Identity signer) {
        var r = new ServerRecord(address, Catena.modelId(MODEL), "stories260K.gguf", span, 0, 1 << 20, ServerRecord.State.ONLINE, "", "", "");
        return RecordSignatures.sign(r, signer.publicKey(), signer.privateKey());
    }

    @Test
    void serversAnnounceRecordsSignedByTheirOwnKey() {
        URI dir = URI.create("mem:signed-" + System.nanoTime());
        Identity id = Identity.generate();
        try (CatenaServer s = Catena.server(MODEL).identity(id).directory(dir).start(); Directory view = Catena.directory(dir)) {
            ServerRecord r = view.servers(Catena.modelId(MODEL)).getFirst();
            assertEquals(RecordSignatures.Verdict.VALID, RecordSignatures.check(r));
            assertEquals(id.publicKey(), RecordSignatures.publicKey(r));
        }
    }

    @Test
    void aForgedRecordIsLeftOutAndAnImpostorsKeyIsRefusedAtConnect() throws Exception {
        URI dir = URI.create("mem:forged-" + System.nanoTime());
        Identity tailKey = Identity.generate();
        try (CatenaServer head = Catena.server(MODEL).blocks(0, 3).directory(dir).start();
             CatenaServer tail = Catena.server(MODEL).blocks(3, 5).identity(tailKey).start(); // announced by hand below
             Directory view = Catena.directory(dir);
             var local = Catena.local(MODEL).build()) {
            // Altered after signing (the span): not the signer's record.
            ServerRecord genuine = record(tail.address(), new BlockRange(3, 5), tailKey);
            view.announce(new ServerRecord(genuine.address(), genuine.modelId(), genuine.modelName(), new BlockRange(2, 5),
                    genuine.throughput(), genuine.freeKvTokens(), genuine.state(), "", genuine.publicKey(), genuine.signature()));
            var forged = assertThrows(SwarmException.NoRoute.class, () -> Catena.client(MODEL).directory(dir).build());
            assertTrue(forged.getMessage().contains("left out for bad record signatures: " + tail.address()), forged.getMessage());

            // Validly signed, but by a key the server at that address does not hold.
            view.announce(record(tail.address(), new BlockRange(3, 5), Identity.generate()));
            try (CatenaClient client = Catena.client(MODEL).directory(dir).maxFailovers(1).build()) {
                var impostor = assertThrows(SwarmException.class, () -> client.generate(greedy(4)));
                assertTrue(impostor.getMessage().contains("but its directory record names key"), impostor.getMessage());
            }

            view.announce(genuine);
            try (CatenaClient client = Catena.client(MODEL).directory(dir).build()) {
                assertEquals(local.generate(greedy(12)).tokens(), client.generate(greedy(12)).tokens());
            }
        }
    }
}

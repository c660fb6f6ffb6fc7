package dev.catena.core.security;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.ServerRecord;
import dev.catena.core.Identity;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.catena.core.security.RecordSignatures.Verdict.INVALID;
import static dev.catena.core.security.RecordSignatures.Verdict.UNSIGNED;
import static dev.catena.core.security.RecordSignatures.Verdict.VALID;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A record is valid only as its named key signed it: any field changed, or another key's signature, makes it invalid. */
class RecordSignaturesTest {
    private static final Identity A = Identity.generate();
    private static final Identity B = Identity.generate();

    private static ServerRecord record() {
        return new ServerRecord("10.0.0.7:7000", "ab12", "m.gguf", new BlockRange(2, 5), 12.3456789, 4096,
                ServerRecord.State.ONLINE, "dd", "", "");
    }

    private static ServerRecord signed(Identity id) {
        return RecordSignatures.sign(record(), id.publicKey(), id.privateKey());
    }

    @Test
    void aSignedRecordIsValidAndSurvivesTheThroughputPrecisionDirectoriesKeep() {
        ServerRecord r = signed(A);
        assertEquals(VALID, RecordSignatures.check(r));
        assertEquals(A.publicKey(), RecordSignatures.publicKey(r));
        assertEquals(VALID, RecordSignatures.check(r.withLoad(12.346, r.freeKvTokens())), "stored as %.3f, read back");
        assertEquals(UNSIGNED, RecordSignatures.check(record()));
    }

    @Test
    void anyFieldChangedOrAnotherKeysSignatureIsInvalid() {
        ServerRecord r = signed(A);
        List<ServerRecord> altered = List.of(
                new ServerRecord("10.0.0.8:7000", r.modelId(), r.modelName(), r.span(), r.throughput(), r.freeKvTokens(), r.state(),
                        r.weightsDigest(), r.publicKey(), r.signature()),
                new ServerRecord(r.address(), "ab13", r.modelName(), r.span(), r.throughput(), r.freeKvTokens(), r.state(),
                        r.weightsDigest(), r.publicKey(), r.signature()),
                new ServerRecord(r.address(), r.modelId(), r.modelName(), new BlockRange(0, 5), r.throughput(), r.freeKvTokens(), r.state(),
                        r.weightsDigest(), r.publicKey(), r.signature()),
                r.withLoad(99, r.freeKvTokens()),
                r.withLoad(r.throughput(), 1),
                r.withWeightsDigest("ee"),
                new ServerRecord(r.address(), r.modelId(), r.modelName(), r.span(), r.throughput(), r.freeKvTokens(),
                        ServerRecord.State.JOINING, r.weightsDigest(), r.publicKey(), r.signature()),
                // B's key named, A's signature kept: somebody claiming B's record
                new ServerRecord(r.address(), r.modelId(), r.modelName(), r.span(), r.throughput(), r.freeKvTokens(), r.state(),
                        r.weightsDigest(), signed(B).publicKey(), r.signature()),
                new ServerRecord(r.address(), r.modelId(), r.modelName(), r.span(), r.throughput(), r.freeKvTokens(), r.state(),
                        r.weightsDigest(), r.publicKey(), ""),
                new ServerRecord(r.address(), r.modelId(), r.modelName(), r.span(), r.throughput(), r.freeKvTokens(), r.state(),
                        r.weightsDigest(), "not base64!", r.signature()),
                new ServerRecord(r.address(), r.modelId(), r.modelName(), r.span(), r.throughput(), r.freeKvTokens(), r.state(),
                        r.weightsDigest(), "", r.signature()));
        for (ServerRecord x : altered) assertEquals(INVALID, RecordSignatures.check(x), x.toString());
    }
}

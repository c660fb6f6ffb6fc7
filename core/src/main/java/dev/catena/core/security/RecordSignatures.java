package dev.catena.core.security;

import dev.catena.api.directory.ServerRecord;
import dev.catena.transport.sign.Statements;

import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.Base64;

/**
 * Directory records signed by the server they describe ({@link Statements#record}): a record names the
 * server's public key and carries its signature over every other field, so nobody else can announce
 * it, and a client can check that the server it connects to holds the key its record names.
 */
public final class RecordSignatures {

    private RecordSignatures() {
    }

    /** What a record's signature says. */
    public enum Verdict {
        /** No key and no signature: a hand-written list or an older server. */
        UNSIGNED,
        VALID,
        /** A key without a valid signature by it: the record is not the server's. */
        INVALID
    }

    /** {@code record} with {@code key}'s public half named in it and signed by it. */
    public static ServerRecord sign(ServerRecord record, PublicKey publicKey, PrivateKey privateKey) {
        var named = new ServerRecord(record.address(), record.modelId(), record.modelName(), record.span(), record.throughput(),
                record.freeKvTokens(), record.state(), record.weightsDigest(), Base64.getEncoder().encodeToString(publicKey.getEncoded()), "");
        byte[] signature = Statements.sign(privateKey, Statements.record(named));
        return new ServerRecord(named.address(), named.modelId(), named.modelName(), named.span(), named.throughput(),
                named.freeKvTokens(), named.state(), named.weightsDigest(), named.publicKey(), Base64.getEncoder().encodeToString(signature));
    }

    /** Whether {@code record} is signed by the key it names. */
    public static Verdict check(ServerRecord record) {
        if (record.publicKey().isEmpty() && record.signature().isEmpty()) return Verdict.UNSIGNED;
        PublicKey key = publicKey(record);
        if (key == null) return Verdict.INVALID;
        byte[] signature;
        try {
            signature = Base64.getDecoder().decode(record.signature());
        } catch (IllegalArgumentException e) {
            return Verdict.INVALID;
        }
        return Statements.verify(key, Statements.record(record), signature) ? Verdict.VALID : Verdict.INVALID;
    }

    /** The key a record names, or null when it names none or a malformed one. */
    public static PublicKey publicKey(ServerRecord record) {
        if (record.publicKey().isEmpty()) return null;
        try {
            return Statements.publicKey(Base64.getDecoder().decode(record.publicKey()));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}

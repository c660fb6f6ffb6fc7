package dev.catena.core;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.catena.core.security.ProofCheck;
import dev.catena.transport.proto.Proof;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.PublicKey;

/**
 * Portable proofs of misbehaviour, checked offline. A proof file is one serialized {@code catena.v1.Proof}
 * (transport-spi's {@code catena.proto}): statements servers signed with their Ed25519 identities. It
 * proves misbehaviour when one key signed two different outputs for one input: the same signer session,
 * step, position and input digest (PROTOCOL.md, security).
 */
public final class Proofs {
    public enum Status { PROVED, NOT_PROVED, BAD_FILE }

    /**
     * @param key     the key that signed two different outputs for one input; null unless proved
     * @param message what was found, for people
     */
    public record Verdict(Status status, PublicKey key, String message) {
        /** {@code catena verify-proof}'s exit code: 0 proved, 1 not proved, 2 bad file. */
        public int exitCode() {
            return switch (status) {
                case PROVED -> 0;
                case NOT_PROVED -> 1;
                case BAD_FILE -> 2;
            };
        }
    }

    private Proofs() {
    }

    /** Checks the proof in {@code file}; never throws for a bad file (the verdict says what is wrong). */
    public static Verdict verify(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return new Verdict(Status.BAD_FILE, null, "no file " + file);
        } catch (IOException e) {
            return new Verdict(Status.BAD_FILE, null, "cannot read " + file + ": " + e.getMessage());
        }
        return verify(bytes, file.toString());
    }

    /** Checks a serialized proof; {@code name} says where it came from, in messages. */
    public static Verdict verify(byte[] proof, String name) {
        Proof p;
        try {
            p = Proof.parseFrom(proof);
        } catch (InvalidProtocolBufferException e) {
            return new Verdict(Status.BAD_FILE, null, name + " is not a Catena proof: " + e.getMessage());
        }
        if (p.getStatementsCount() == 0) {
            return new Verdict(Status.BAD_FILE, null, name + " holds no signed statement");
        }
        try {
            var v = ProofCheck.check(p);
            return new Verdict(v.status() == ProofCheck.Status.PROVED ? Status.PROVED : Status.NOT_PROVED, v.key(), v.message());
        } catch (IllegalArgumentException e) {
            return new Verdict(Status.BAD_FILE, null, name + ": " + e.getMessage());
        }
    }

    /** Writes a proof's bytes to {@code file}. */
    static void write(byte[] proof, Path file) {
        try {
            Files.write(file, proof);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the proof " + file + ": " + e.getMessage(), e);
        }
    }
}

package dev.catena.core;

import com.google.protobuf.ByteString;
import dev.catena.core.security.ProofCheck;
import dev.catena.transport.proto.Proof;
import dev.catena.transport.proto.Push;
import dev.catena.transport.proto.StepResult;
import dev.catena.transport.proto.SignedStatement;
import dev.catena.transport.sign.Statements;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Portable proofs, checked offline: proved (0), not proved (1), bad file (2). */
class ProofsTest {
    static final long SEED = 14;
    final Random random = new Random(SEED);
    final Identity liar = Identity.generate();

    byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    SignedStatement result(Identity signer, byte[] session, long step, int position, byte[] in, byte[] out) {
        byte[] sig = Statements.sign(signer.privateKey(), Statements.result(session, step, position, in, out));
        return SignedStatement.newBuilder().setDomain(Statements.RESULT).setSessionId(ByteString.copyFrom(session)).setStep(step)
                .setPosition(position).setInputDigest(ByteString.copyFrom(in)).setOutputDigest(ByteString.copyFrom(out))
                .setPublicKey(ByteString.copyFrom(signer.publicKey().getEncoded())).setSignature(ByteString.copyFrom(sig)).build();
    }

    SignedStatement push(Identity signer, byte[] receiver, long step, int position, byte[] in, byte[] out, byte[] origin) {
        byte[] sig = Statements.sign(signer.privateKey(), Statements.push(receiver, step, position, in, out, origin));
        return SignedStatement.newBuilder().setDomain(Statements.PUSH).setSessionId(ByteString.copyFrom(receiver)).setStep(step)
                .setPosition(position).setInputDigest(ByteString.copyFrom(in)).setOutputDigest(ByteString.copyFrom(out))
                .setOriginSessionId(ByteString.copyFrom(origin))
                .setPublicKey(ByteString.copyFrom(signer.publicKey().getEncoded())).setSignature(ByteString.copyFrom(sig)).build();
    }

    /** A step statement signed by {@code signer}, as a result carries it (token < 0: none). */
    StepResult stepResult(Identity signer, byte[] session, byte[] pushedTo, long step, int position, byte[] in, byte[] out, int token) {
        var r = StepResult.newBuilder().setSessionId(ByteString.copyFrom(session)).setPushedSessionId(ByteString.copyFrom(pushedTo))
                .setStep(step).setPosition(position).setInputDigest(ByteString.copyFrom(in)).setOutputDigest(ByteString.copyFrom(out));
        if (token >= 0) r.setRingToken(token);
        return r.setSignature(ByteString.copyFrom(Statements.sign(signer.privateKey(), Statements.step(r.build())))).build();
    }

    static Proofs.Verdict check(Proof p) {
        return Proofs.verify(p.toByteArray(), "test proof");
    }

    @Test
    void aPushAndAResultThatDifferForOneInputProveTheSigner() {
        byte[] session = bytes(16), receiver = bytes(16), in = bytes(32);
        var proof = Proof.newBuilder().setVersion(1)
                .addStatements(push(liar, receiver, 7, 12, in, bytes(32), session))
                .addStatements(result(liar, session, 7, 12, in, bytes(32))).build();
        var v = check(proof);
        assertEquals(Proofs.Status.PROVED, v.status(), "seed " + SEED + ": " + v.message());
        assertEquals(0, v.exitCode());
        assertArrayEquals(liar.publicKey().getEncoded(), v.key().getEncoded());
        assertTrue(v.message().contains(liar.fingerprint()), v.message());
    }

    @Test
    void oneStepSignatureServesItsResultAndItsPush() {
        byte[] session = bytes(16), receiver = bytes(16), in = bytes(32), out = bytes(32);
        StepResult r = stepResult(liar, session, receiver, 7, 12, in, out, -1);
        Push p = Push.newBuilder().setSessionId(ByteString.copyFrom(receiver)).setOriginSessionId(ByteString.copyFrom(session))
                .setStep(7).setPosition(12).setInputDigest(ByteString.copyFrom(in)).setDigest(ByteString.copyFrom(out))
                .setSignature(r.getSignature()).build();
        assertArrayEquals(Statements.step(r), Statements.step(p), "a result and its push state the same bytes");
        assertTrue(Statements.verify(liar.publicKey(), Statements.step(p), p.getSignature().toByteArray()));
        var both = Proof.newBuilder().setVersion(1).addStatements(ProofCheck.of(p, ByteString.copyFrom(liar.publicKey().getEncoded())))
                .addStatements(ProofCheck.of(r, liar.publicKey(), "s1")).build();
        assertEquals(Proofs.Status.NOT_PROVED, check(both).status(), "agreeing: " + check(both).message());
        assertTrue(check(both).message().contains("2 valid statements"), check(both).message());
    }

    @Test
    void aStepPushedOneWayAndAnsweredAnotherProvesTheSigner() {
        byte[] session = bytes(16), receiver = bytes(16), in = bytes(32);
        StepResult told = stepResult(liar, session, receiver, 7, 12, in, bytes(32), -1);
        StepResult pushedAsResult = stepResult(liar, session, receiver, 7, 12, in, bytes(32), -1);
        Push pushed = Push.newBuilder().setSessionId(ByteString.copyFrom(receiver)).setOriginSessionId(ByteString.copyFrom(session))
                .setStep(7).setPosition(12).setInputDigest(ByteString.copyFrom(in)).setDigest(pushedAsResult.getOutputDigest())
                .setSignature(pushedAsResult.getSignature()).setSender("s1").build();
        var v = check(Proof.newBuilder().setVersion(1).addStatements(ProofCheck.of(pushed, ByteString.copyFrom(liar.publicKey().getEncoded())))
                .addStatements(ProofCheck.of(told, liar.publicKey(), "s1")).build());
        assertEquals(Proofs.Status.PROVED, v.status(), "seed " + SEED + ": " + v.message());
        assertArrayEquals(liar.publicKey().getEncoded(), v.key().getEncoded());
        // An older kind of statement (a result signed before step statements) against a step statement: still one input, two outputs.
        var mixed = check(Proof.newBuilder().setVersion(1).addStatements(result(liar, session, 7, 12, in, bytes(32)))
                .addStatements(ProofCheck.of(told, liar.publicKey(), "s1")).build());
        assertEquals(Proofs.Status.PROVED, mixed.status(), mixed.message());
    }

    @Test
    void aRingStepWithTwoTokensForOneOutputProvesTheSigner() {
        byte[] session = bytes(16), in = bytes(32), out = bytes(32);
        var v = check(Proof.newBuilder().setVersion(1).addStatements(ProofCheck.of(stepResult(liar, session, new byte[0], 9, 30, in, out, 17), liar.publicKey(), "s3"))
                .addStatements(ProofCheck.of(stepResult(liar, session, new byte[0], 9, 30, in, out, 16), liar.publicKey(), "s3")).build());
        assertEquals(Proofs.Status.PROVED, v.status(), v.message());
        assertTrue(v.message().contains("two different tokens"), v.message());
        var same = check(Proof.newBuilder().setVersion(1).addStatements(ProofCheck.of(stepResult(liar, session, new byte[0], 9, 30, in, out, 17), liar.publicKey(), "s3"))
                .addStatements(ProofCheck.of(stepResult(liar, session, new byte[0], 9, 30, in, out, 17), liar.publicKey(), "s3")).build());
        assertEquals(Proofs.Status.NOT_PROVED, same.status(), same.message());
    }

    @Test
    void agreeingStatementsOrDifferentInputsOrSessionsOrKeysProveNothing() {
        byte[] session = bytes(16), receiver = bytes(16), in = bytes(32), out = bytes(32);
        Identity honest = Identity.generate();
        var agreeing = Proof.newBuilder().setVersion(1).addStatements(push(liar, receiver, 7, 12, in, out, session))
                .addStatements(result(liar, session, 7, 12, in, out)).build();
        var otherInput = Proof.newBuilder().setVersion(1).addStatements(result(liar, session, 7, 12, bytes(32), bytes(32)))
                .addStatements(result(liar, session, 7, 12, in, out)).build();
        var otherSession = Proof.newBuilder().setVersion(1).addStatements(result(liar, bytes(16), 7, 12, in, bytes(32)))
                .addStatements(result(liar, session, 7, 12, in, out)).build();
        var twoKeys = Proof.newBuilder().setVersion(1).addStatements(result(honest, session, 7, 12, in, bytes(32)))
                .addStatements(result(liar, session, 7, 12, in, out)).build();
        for (Proof p : new Proof[]{agreeing, otherInput, otherSession, twoKeys}) {
            var v = check(p);
            assertEquals(Proofs.Status.NOT_PROVED, v.status(), "seed " + SEED + ": " + v.message());
            assertEquals(1, v.exitCode());
            assertNull(v.key());
        }
    }

    @Test
    void aForgedSignatureProvesNothing() {
        byte[] session = bytes(16), in = bytes(32);
        var forged = result(liar, session, 3, 4, in, bytes(32)).toBuilder().setOutputDigest(ByteString.copyFrom(bytes(32))).build();
        var p = Proof.newBuilder().setVersion(1).addStatements(forged).addStatements(result(liar, session, 3, 4, in, bytes(32))).build();
        var v = check(p);
        assertEquals(Proofs.Status.NOT_PROVED, v.status(), v.message());
        assertTrue(v.message().contains("1 with a bad signature"), v.message());
    }

    @Test
    void badFilesAreExitTwo(@TempDir Path dir) throws Exception {
        assertEquals(2, Proofs.verify(dir.resolve("absent.proof")).exitCode());
        Path garbage = dir.resolve("garbage.proof");
        Files.write(garbage, new byte[]{(byte) 0xFF, (byte) 0xFF, 0x01});
        assertEquals(Proofs.Status.BAD_FILE, Proofs.verify(garbage).status());
        assertEquals(2, check(Proof.newBuilder().setVersion(1).build()).exitCode(), "no statements");
        assertEquals(2, check(Proof.newBuilder().setVersion(9).addStatements(result(liar, bytes(16), 1, 1, bytes(32), bytes(32))).build()).exitCode());
        var badKey = result(liar, bytes(16), 1, 1, bytes(32), bytes(32)).toBuilder().setPublicKey(ByteString.copyFrom(bytes(44))).build();
        var v = check(Proof.newBuilder().setVersion(1).addStatements(badKey).build());
        assertEquals(Proofs.Status.BAD_FILE, v.status(), v.message());
    }
}

package dev.catena.core.security;

import com.google.protobuf.ByteString;
import dev.catena.transport.proto.Proof;
import dev.catena.transport.proto.Push;
import dev.catena.transport.proto.RingToken;
import dev.catena.transport.proto.SignedStatement;
import dev.catena.transport.proto.StepResult;
import dev.catena.transport.sign.Statements;

import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks a {@link Proof} offline: it proves misbehaviour when two of its statements are validly signed by
 * one key for the same signer session, step, position and input digest, with different output digests (or,
 * for a ring's last server, different tokens). Statements are of the step kind ({@code catena/step/v1}, one
 * per step, for the result and the push alike) or of the two older kinds, result and push, which proofs
 * made before the step kind hold.
 */
public final class ProofCheck {
    public enum Status { PROVED, NOT_PROVED }

    /** @param key the key that signed two different outputs (null unless proved) */
    public record Verdict(Status status, PublicKey key, String message) {
    }

    private ProofCheck() {
    }

    /** A statement as evidence, from a result the signer sent ({@code key}: the signer's). */
    public static SignedStatement of(StepResult r, PublicKey key, String address) {
        var s = SignedStatement.newBuilder().setDomain(Statements.STEP).setSessionId(r.getSessionId())
                .setReceiverSessionId(r.getPushedSessionId()).setStep(r.getStep())
                .setPosition(r.getPosition()).setInputDigest(r.getInputDigest()).setOutputDigest(r.getOutputDigest())
                .setPublicKey(ByteString.copyFrom(key.getEncoded())).setSignature(r.getSignature()).setSignerAddress(address);
        if (r.hasRingToken()) s.setToken(r.getRingToken());
        return s.build();
    }

    /** A statement as evidence, from a ring token the signer sent ({@code key}: the signer's, X.509). */
    public static SignedStatement of(RingToken t, ByteString key) {
        return SignedStatement.newBuilder().setDomain(Statements.STEP).setSessionId(t.getOriginSessionId())
                .setStep(t.getStep()).setPosition(t.getStepPosition()).setInputDigest(t.getInputDigest())
                .setOutputDigest(t.getOutputDigest()).setToken(t.getToken())
                .setPublicKey(key).setSignature(t.getSignature()).setSignerAddress(t.getSender()).build();
    }

    /** A statement as evidence, from a push the signer sent ({@code key}: the signer's, X.509). */
    public static SignedStatement of(Push p, ByteString key) {
        return SignedStatement.newBuilder().setDomain(Statements.STEP).setSessionId(p.getOriginSessionId())
                .setReceiverSessionId(p.getSessionId()).setStep(p.getStep()).setPosition(p.getPosition())
                .setInputDigest(p.getInputDigest()).setOutputDigest(p.getDigest())
                .setPublicKey(key).setSignature(p.getSignature()).setSignerAddress(p.getSender()).build();
    }

    /** The bytes {@code s}'s signer signed; throws IllegalArgumentException for an unknown domain. */
    public static byte[] statement(SignedStatement s) {
        return switch (s.getDomain()) {
            case Statements.STEP -> Statements.step(s.getSessionId().toByteArray(), s.getReceiverSessionId().toByteArray(), s.getStep(),
                    s.getPosition(), s.getInputDigest().toByteArray(), s.getOutputDigest().toByteArray(),
                    s.hasToken() ? s.getToken() : Statements.NO_TOKEN);
            case Statements.RESULT -> Statements.result(s.getSessionId().toByteArray(), s.getStep(), s.getPosition(),
                    s.getInputDigest().toByteArray(), s.getOutputDigest().toByteArray());
            case Statements.PUSH -> Statements.push(s.getSessionId().toByteArray(), s.getStep(), s.getPosition(),
                    s.getInputDigest().toByteArray(), s.getOutputDigest().toByteArray(), s.getOriginSessionId().toByteArray());
            default -> throw new IllegalArgumentException("unknown statement domain '" + s.getDomain() + "'");
        };
    }

    /** The session at the signer a statement is about: a step's or a result's own, a push's origin. */
    private static ByteString signerSession(SignedStatement s) {
        return Statements.PUSH.equals(s.getDomain()) ? s.getOriginSessionId() : s.getSessionId();
    }

    /**
     * @throws IllegalArgumentException when the proof is malformed (an unknown version or domain, a key
     *                                  that is not Ed25519)
     */
    public static Verdict check(Proof proof) {
        if (proof.getVersion() != 1) throw new IllegalArgumentException("unknown proof version " + proof.getVersion() + " (this reads 1)");
        List<SignedStatement> valid = new ArrayList<>();
        List<PublicKey> keys = new ArrayList<>();
        int bad = 0;
        for (SignedStatement s : proof.getStatementsList()) {
            PublicKey key = Statements.publicKey(s.getPublicKey().toByteArray());
            if (Statements.verify(key, statement(s), s.getSignature().toByteArray())) {
                valid.add(s);
                keys.add(key);
            } else {
                bad++;
            }
        }
        for (int i = 0; i < valid.size(); i++) {
            for (int j = i + 1; j < valid.size(); j++) {
                SignedStatement a = valid.get(i), b = valid.get(j);
                if (a.getPublicKey().equals(b.getPublicKey()) && signerSession(a).equals(signerSession(b))
                        && a.getStep() == b.getStep() && a.getPosition() == b.getPosition()
                        && a.getInputDigest().equals(b.getInputDigest()) && differ(a, b)) {
                    return new Verdict(Status.PROVED, keys.get(i), "key " + Statements.fingerprint(keys.get(i))
                            + " signed two different " + (a.getOutputDigest().equals(b.getOutputDigest()) ? "tokens" : "outputs")
                            + " for one input (session " + hex(signerSession(a)) + ", step "
                            + a.getStep() + ", position " + a.getPosition() + "): a " + kind(a) + " and a " + kind(b));
                }
            }
        }
        if (bad == 0) {
            Verdict majority = majority(valid, keys);
            if (majority != null) return majority;
        }
        return new Verdict(Status.NOT_PROVED, null, "no key signed two different outputs for one input ("
                + valid.size() + " valid statements, " + bad + " with a bad signature)");
    }

    /** Two outputs for one input: other output digests, or (a ring's last server) other tokens sampled from it. */
    private static boolean differ(SignedStatement a, SignedStatement b) {
        if (!a.getOutputDigest().equals(b.getOutputDigest())) return true;
        return a.hasToken() && b.hasToken() && a.getToken() != b.getToken();
    }

    /**
     * The spot-check rule: exactly three keys, each with the results of one session, all three over the same
     * sequence of (position, input digest); two agree on the last output and the third signed another, having
     * agreed on every output before. Same inputs in the same order give the same outputs on a deterministic
     * backend, so the odd key is named. It trusts that the three ran the same blocks with the same backend
     * build and device kind (the client chose them so; blocks are not part of the signed statement).
     */
    private static Verdict majority(List<SignedStatement> valid, List<PublicKey> keys) {
        java.util.Map<ByteString, List<SignedStatement>> byKey = new java.util.LinkedHashMap<>();
        java.util.Map<ByteString, PublicKey> keyOf = new java.util.HashMap<>();
        for (int i = 0; i < valid.size(); i++) {
            SignedStatement s = valid.get(i);
            if (!Statements.RESULT.equals(s.getDomain()) && !Statements.STEP.equals(s.getDomain())) return null;
            byKey.computeIfAbsent(s.getPublicKey(), k -> new ArrayList<>()).add(s);
            keyOf.put(s.getPublicKey(), keys.get(i));
        }
        if (byKey.size() != 3) return null;
        List<List<SignedStatement>> runs = new ArrayList<>(byKey.values());
        int length = runs.getFirst().size();
        for (List<SignedStatement> run : runs) {
            if (run.size() != length) return null;
            for (int i = 0; i < length; i++) {
                SignedStatement s = run.get(i), first = runs.getFirst().get(i);
                if (!s.getSessionId().equals(run.getFirst().getSessionId())) return null; // one session per key
                if (i > 0 && s.getStep() <= run.get(i - 1).getStep()) return null;      // in the order computed
                if (s.getPosition() != first.getPosition() || !s.getInputDigest().equals(first.getInputDigest())) return null;
                if (i < length - 1 && !s.getOutputDigest().equals(first.getOutputDigest())) return null;
            }
        }
        ByteString a = runs.get(0).getLast().getOutputDigest(), b = runs.get(1).getLast().getOutputDigest(),
                c = runs.get(2).getLast().getOutputDigest();
        int odd = a.equals(b) && !a.equals(c) ? 2 : a.equals(c) && !a.equals(b) ? 1 : b.equals(c) && !b.equals(a) ? 0 : -1;
        if (odd < 0) return null;
        PublicKey liar = keyOf.get(runs.get(odd).getFirst().getPublicKey());
        SignedStatement last = runs.get(odd).getLast();
        return new Verdict(Status.PROVED, liar, "by majority: key " + Statements.fingerprint(liar) + " signed an output at position "
                + last.getPosition() + " that two other keys, computing on the same " + length + " inputs, did not");
    }

    private static String kind(SignedStatement s) {
        return switch (s.getDomain()) {
            case Statements.PUSH -> "push";
            case Statements.RESULT -> "result";
            default -> s.hasToken() ? "ring step statement (token " + s.getToken() + ")"
                    : s.getReceiverSessionId().isEmpty() ? "step statement" : "step statement (pushed to " + hex(s.getReceiverSessionId()) + ")";
        };
    }

    private static String hex(ByteString b) {
        return java.util.HexFormat.of().formatHex(b.toByteArray());
    }
}

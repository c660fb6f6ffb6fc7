package dev.catena.transport.sign;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.spec.X509EncodedKeySpec;
import java.util.HexFormat;

/**
 * The exact bytes a server signs with its Ed25519 identity (PROTOCOL.md, security), so that server,
 * client and {@code catena verify-proof} agree on them. Every statement is
 * <pre>
 *   domain (ASCII) || 0x00 || u8 len(session) || session || u64 step || u32 position
 *     || u8 len(input_digest) || input_digest || u8 len(output_digest) || output_digest [|| push tail]
 * </pre>
 * big-endian, where {@code domain} is {@code catena/result/v1} or {@code catena/push/v1}. A result's
 * session is the client's session at the signer. A push's session is the session at the receiver, and
 * its tail is {@code u8 len(origin) || origin}: the signer's own session of that step, so that a push and
 * the same server's result for the step can be matched (a proof). Servers now sign one statement per step
 * that serves as both (the two older kinds are still verified, for proofs made before it):
 * <pre>
 *   catena/step/v1 || 0x00 || u8 len(signer session) || signer session || u8 len(receiver) || receiver
 *     || u64 step || u32 position || u8 len(input_digest) || input_digest || u8 len(output_digest) || output_digest
 *     || u8 0  |  u8 1 || u32 token
 * </pre>
 * where the signer session is the client's session at the signer, the receiver is the session its output
 * was pushed to (empty when none) and the token is what a ring's last server sampled. The hello statement is
 * {@code catena/hello/v1 || 0x00 || nonce}: a server signs the nonce a connecting client sent. A directory
 * record's statement is {@code catena/record/v1 || 0x00} then each field as {@code u16 len || UTF-8}:
 * address, model id, model name, span ({@code start:end}), throughput ({@code %.3f}, the precision
 * directories keep), free KV tokens, state, weights digest and public key (base64).
 */
public final class Statements {
    public static final String RESULT = "catena/result/v1";
    public static final String PUSH = "catena/push/v1";
    /** One statement per step, for its result and its push (or ring token) alike. */
    public static final String STEP = "catena/step/v1";
    /** {@link #step}'s token when the step sampled none. */
    public static final int NO_TOKEN = -1;
    public static final String HELLO = "catena/hello/v1";
    public static final String RECORD = "catena/record/v1";
    /** Ed25519 signatures are 64 bytes. */
    public static final int SIGNATURE_BYTES = 64;

    private static final ThreadLocal<Signature> ED25519 = ThreadLocal.withInitial(() -> {
        try {
            return Signature.getInstance("Ed25519");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no Ed25519 (needed since Java 15)", e);
        }
    });

    private Statements() {
    }

    /**
     * Which Ed25519 signs and verifies: {@code "libsodium"} or {@code "OpenSSL"} (the system's, through
     * java.lang.foreign: the same bytes, faster), else {@code "JDK"}.
     */
    public static String ed25519Library() {
        return NativeEd25519.LIBRARY == null ? "JDK" : NativeEd25519.LIBRARY.name();
    }

    public static byte[] result(byte[] session, long step, int position, byte[] inputDigest, byte[] outputDigest) {
        return encode(RESULT, session, step, position, inputDigest, outputDigest, null);
    }

    public static byte[] push(byte[] receiverSession, long step, int position, byte[] inputDigest, byte[] outputDigest,
                              byte[] originSession) {
        return encode(PUSH, receiverSession, step, position, inputDigest, outputDigest, originSession);
    }

    /**
     * What a server signs once per step, sent with both its result and its push: {@code signerSession}
     * the client's session at the signer, {@code receiverSession} the session its output was pushed to
     * (empty when none), {@code token} the ring token it sampled ({@link #NO_TOKEN} when none).
     */
    public static byte[] step(byte[] signerSession, byte[] receiverSession, long step, int position, byte[] inputDigest,
                              byte[] outputDigest, int token) {
        byte[] domain = STEP.getBytes(StandardCharsets.US_ASCII);
        for (byte[] field : new byte[][]{signerSession, receiverSession, inputDigest, outputDigest}) {
            if (field.length > 255) throw new IllegalArgumentException("a statement field is at most 255 bytes, got " + field.length);
        }
        int size = domain.length + 1 + 1 + signerSession.length + 1 + receiverSession.length + 8 + 4 + 1 + inputDigest.length
                + 1 + outputDigest.length + 1 + (token == NO_TOKEN ? 0 : 4);
        ByteBuffer b = ByteBuffer.allocate(size).put(domain).put((byte) 0)
                .put((byte) signerSession.length).put(signerSession).put((byte) receiverSession.length).put(receiverSession)
                .putLong(step).putInt(position).put((byte) inputDigest.length).put(inputDigest)
                .put((byte) outputDigest.length).put(outputDigest);
        if (token == NO_TOKEN) b.put((byte) 0);
        else b.put((byte) 1).putInt(token);
        return b.array();
    }

    /** The step statement a result states (its session, the session it says it pushed to, its ring token if any). */
    public static byte[] step(dev.catena.transport.proto.StepResult r) {
        return step(r.getSessionId().toByteArray(), r.getPushedSessionId().toByteArray(), r.getStep(), r.getPosition(),
                r.getInputDigest().toByteArray(), r.getOutputDigest().toByteArray(), r.hasRingToken() ? r.getRingToken() : NO_TOKEN);
    }

    /** The step statement a push states; {@code outputDigest} is its payload's digest as declared. */
    public static byte[] step(dev.catena.transport.proto.Push p) {
        return step(p.getOriginSessionId().toByteArray(), p.getSessionId().toByteArray(), p.getStep(), p.getPosition(),
                p.getInputDigest().toByteArray(), p.getDigest().toByteArray(), NO_TOKEN);
    }

    /** The step statement a ring token states: its sender's step, with no receiver session, and the token. */
    public static byte[] step(dev.catena.transport.proto.RingToken t) {
        return step(t.getOriginSessionId().toByteArray(), new byte[0], t.getStep(), t.getStepPosition(),
                t.getInputDigest().toByteArray(), t.getOutputDigest().toByteArray(), t.getToken());
    }

    public static byte[] hello(byte[] nonce) {
        byte[] domain = HELLO.getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.allocate(domain.length + 1 + nonce.length).put(domain).put((byte) 0).put(nonce).array();
    }

    /** What a server signs of its directory record: every field but the signature. */
    public static byte[] record(dev.catena.api.directory.ServerRecord r) {
        String[] fields = {r.address(), r.modelId(), r.modelName(), r.span().start() + ":" + r.span().end(),
                String.format(java.util.Locale.ROOT, "%.3f", r.throughput()), Long.toString(r.freeKvTokens()), r.state().name(),
                r.weightsDigest(), r.publicKey()};
        var out = new java.io.ByteArrayOutputStream(256);
        out.writeBytes(RECORD.getBytes(StandardCharsets.US_ASCII));
        out.write(0);
        for (String f : fields) {
            byte[] b = f.getBytes(StandardCharsets.UTF_8);
            if (b.length > 0xffff) throw new IllegalArgumentException("a record field is at most 65535 bytes, got " + b.length);
            out.write(b.length >>> 8);
            out.write(b.length & 0xff);
            out.writeBytes(b);
        }
        return out.toByteArray();
    }

    private static byte[] encode(String domainName, byte[] session, long step, int position, byte[] in, byte[] out, byte[] origin) {
        byte[] domain = domainName.getBytes(StandardCharsets.US_ASCII);
        for (byte[] field : new byte[][]{session, in, out, origin == null ? new byte[0] : origin}) {
            if (field.length > 255) throw new IllegalArgumentException("a statement field is at most 255 bytes, got " + field.length);
        }
        int size = domain.length + 1 + 1 + session.length + 8 + 4 + 1 + in.length + 1 + out.length + (origin == null ? 0 : 1 + origin.length);
        ByteBuffer b = ByteBuffer.allocate(size).put(domain).put((byte) 0)
                .put((byte) session.length).put(session).putLong(step).putInt(position)
                .put((byte) in.length).put(in).put((byte) out.length).put(out);
        if (origin != null) b.put((byte) origin.length).put(origin);
        return b.array();
    }

    public static byte[] sign(PrivateKey key, byte[] statement) {
        if (NativeEd25519.LIBRARY != null) {
            byte[] fast = NativeEd25519.LIBRARY.sign(key, statement);
            if (fast != null) return fast;
        }
        Signature s = ED25519.get();
        try {
            s.initSign(key);
            s.update(statement);
            return s.sign();
        } catch (InvalidKeyException | SignatureException e) {
            throw new IllegalArgumentException("cannot sign with this key: " + e.getMessage(), e);
        }
    }

    /** Whether {@code signature} is {@code key}'s over {@code statement}; false for any malformed input. */
    public static boolean verify(PublicKey key, byte[] statement, byte[] signature) {
        if (key == null || signature == null || signature.length != SIGNATURE_BYTES) return false;
        if (NativeEd25519.LIBRARY != null) {
            Boolean fast = NativeEd25519.LIBRARY.verify(key, statement, signature);
            if (fast != null) return fast;
        }
        Signature s = ED25519.get();
        try {
            s.initVerify(key);
            s.update(statement);
            return s.verify(signature);
        } catch (InvalidKeyException | SignatureException e) {
            return false;
        }
    }

    /** A public key from its X.509 (SubjectPublicKeyInfo) encoding, as Hello carries it. */
    public static PublicKey publicKey(byte[] encoded) {
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(encoded));
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new IllegalArgumentException("not an Ed25519 public key (X.509 encoding): " + e.getMessage(), e);
        }
    }

    /** A key's short name: the first 16 hex digits of the SHA-256 of its X.509 encoding. */
    public static String fingerprint(PublicKey key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getEncoded()), 0, 8);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}

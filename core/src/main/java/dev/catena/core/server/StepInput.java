package dev.catena.core.server;

import dev.catena.core.protocol.Tensors;
import dev.catena.core.security.ProofCheck;
import dev.catena.transport.proto.InputSource;
import dev.catena.transport.proto.Push;
import dev.catena.transport.proto.RingToken;
import dev.catena.transport.proto.SignedStatement;
import dev.catena.transport.proto.TensorMeta;
import dev.catena.transport.sign.Statements;

import java.nio.ByteBuffer;
import java.security.PublicKey;
import java.util.Arrays;

/** A step's input as it arrived: wire bytes (owned copy) and their description. */
final class StepInput {
    private final long step;
    private final int position;
    private final TensorMeta meta;
    private final ByteBuffer bytes;
    private final InputSource source;
    private final String sender;
    private final long requestId;
    final byte[] declaredDigest;
    /** A push's header and the key of the connection it came on (null for a client's step). */
    final Push push;
    private final PublicKey pushKey;
    /** Ring mode, the first session: the signed token this step embeds (null otherwise). */
    RingToken ringInput;
    private byte[] digest; // computed once, on the session's thread rather than the event loop
    /** When its frame reached the server (System.nanoTime), or when it was let out of the ring's window: turnaround's start. */
    long receivedNanos = System.nanoTime();

    StepInput(long step, int position, TensorMeta meta, ByteBuffer bytes, InputSource source, String sender, long requestId,
          byte[] declaredDigest) {
        this(step, position, meta, bytes, source, sender, requestId, declaredDigest, null, null);
    }

    StepInput(long step, int position, TensorMeta meta, ByteBuffer bytes, InputSource source, String sender, long requestId,
          byte[] declaredDigest, Push push, PublicKey pushKey) {
        this.push = push;
        this.pushKey = pushKey;
        this.step = step;
        this.position = position;
        this.meta = meta;
        this.bytes = bytes;
        this.source = source;
        this.sender = sender;
        this.requestId = requestId;
        this.declaredDigest = declaredDigest;
    }

    long step() { return step; }
    int position() { return position; }
    TensorMeta meta() { return meta; }
    ByteBuffer bytes() { return bytes; }
    InputSource source() { return source; }
    String sender() { return sender; }
    long requestId() { return requestId; }

    /** SHA-256 of the payload. */
    byte[] digest() {
        if (digest == null) digest = Tensors.digest(bytes);
        return digest;
    }

    /** The push's signature once verified (inline or trailing); null before, or when it does not verify. */
    private volatile byte[] signature;

    /** Whether {@code sig} is the sender's (the key of the connection the push came on) over what the push carries; keeps it. */
    /** Whether the push came on a connection whose peer proved a key: without one no signature can verify. */
    boolean hasSenderKey() {
        return push != null && pushKey != null;
    }

    boolean signedBySender(byte[] sig) {
        if (push == null || pushKey == null || sig == null) return false;
        byte[] statement = Statements.step(push.getOriginSessionId().toByteArray(), push.getSessionId().toByteArray(), push.getStep(),
                push.getPosition(), push.getInputDigest().toByteArray(), declaredDigest, Statements.NO_TOKEN);
        boolean ok = Statements.verify(pushKey, statement, sig);
        if (ok) signature = sig;
        return ok;
    }

    /** A push as evidence: the statement its sender signed, with the sender's key. */
    SignedStatement evidence() {
        return ProofCheck.of(push.toBuilder().setDigest(com.google.protobuf.ByteString.copyFrom(declaredDigest))
                        .setSignature(com.google.protobuf.ByteString.copyFrom(signature)).build(),
                com.google.protobuf.ByteString.copyFrom(pushKey.getEncoded())).toBuilder().setSignerAddress(sender).build();
    }

    /** Whether the payload is what the sender hashed (an absent digest is not checked). */
    boolean intact() {
        return declaredDigest.length == 0 || Arrays.equals(declaredDigest, digest());
    }
}

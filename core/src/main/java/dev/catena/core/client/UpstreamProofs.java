package dev.catena.core.client;

import dev.catena.core.security.ProofCheck;
import dev.catena.transport.proto.Proof;
import dev.catena.transport.proto.Push;
import dev.catena.transport.proto.RingToken;
import dev.catena.transport.proto.SignedStatement;
import dev.catena.transport.proto.StepResult;

import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A session's proofs against upstream servers: a downstream server that recomputed from the client's
 * copy sends the signed push it got (in a ring, the first server sends the signed token it ran on); with
 * the upstream server's signed result for that step (its signature may still be on its way), the two are
 * a portable proof when they differ.
 */
final class UpstreamProofs {
    private final SwarmClient client;
    private final Duration stepTimeout;
    private final List<CompletableFuture<Void>> proofTasks = new ArrayList<>();

    UpstreamProofs(SwarmClient client, Duration stepTimeout) {
        this.client = client;
        this.stepTimeout = stepTimeout;
    }

    /**
     * A server recomputed from the client's copy because the push it got differed, and sent the signed
     * push: with the upstream server's signed result for that step, a proof when the two differ.
     */
    void proveAgainst(HopSession upstream, StepResult corrected) {
        Push push = corrected.getInconsistentPush();
        prove(upstream, push.getStep(), ProofCheck.of(push, corrected.getInconsistentPushKey()),
                "the push " + upstream.hop.address() + " sent downstream differed from the result it gave the client for step " + push.getStep());
    }

    /**
     * Ring mode: the first server ran a step on the token {@code t} that the last server signed and sent it;
     * with the last server's signed result for that step (its token and final hidden state), a proof when the
     * two statements differ: it told the first server another token, or the client another state.
     */
    void proveRingToken(HopSession last, RingToken t) {
        if (t.getSignature().isEmpty() || last.link.publicKey() == null) return;
        prove(last, t.getStep(), ProofCheck.of(t, com.google.protobuf.ByteString.copyFrom(last.link.publicKey().getEncoded())),
                "the ring token " + last.hop.address() + " sent the first server (" + t.getToken() + ") and the result it gave the client "
                        + "for step " + t.getStep() + " state different steps");
    }

    /** With {@code upstream}'s signed result of {@code step} (its signature may be on its way), a proof against it if {@code other} differs. */
    private void prove(HopSession upstream, long step, SignedStatement other, String note) {
        HopSession.Sent mine = null;
        for (HopSession.Sent sent : upstream.history) {
            if (sent.result() != null && sent.result().getStep() == step) mine = sent;
        }
        if (mine == null || upstream.link.publicKey() == null) return;
        proofTasks.removeIf(CompletableFuture::isDone);
        StepResult result = mine.result();
        PublicKey key = upstream.link.publicKey();
        String address = upstream.hop.address();
        proofTasks.add(mine.signature().copy().orTimeout(stepTimeout.toMillis(), TimeUnit.MILLISECONDS).thenAccept(sig ->
                prove(other, result.toBuilder().setSignature(com.google.protobuf.ByteString.copyFrom(sig)).build(), key, address, note))
                .exceptionally(noSignature -> null));
    }

    private void prove(SignedStatement other, StepResult mine, PublicKey key, String address, String note) {
        var proof = Proof.newBuilder().setVersion(1)
                .addStatements(other)
                .addStatements(ProofCheck.of(mine, key, address))
                .setNote(note).build();
        try {
            if (ProofCheck.check(proof).status() == ProofCheck.Status.PROVED) client.recordProof(proof, address);
        } catch (IllegalArgumentException malformed) {
            // the downstream server sent a malformed key: no proof, and the step itself is still valid
        }
    }

    /** Waits at most {@code millis} for each proof still being assembled (at close). */
    void finish(long millis) {
        proofTasks.forEach(t -> t.completeOnTimeout(null, millis, TimeUnit.MILLISECONDS).join());
    }
}

package dev.catena.core.client;

import dev.catena.core.security.ProofCheck;
import dev.catena.transport.proto.Proof;
import dev.catena.transport.proto.Push;
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
 * copy sends the signed push it got; with the upstream server's signed result for that step (its
 * signature may still be on its way), the two are a portable proof when they differ.
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
        HopSession.Sent mine = null;
        for (HopSession.Sent sent : upstream.history) {
            if (sent.result() != null && sent.result().getStep() == push.getStep()) mine = sent;
        }
        if (mine == null || upstream.link.publicKey() == null) return;
        proofTasks.removeIf(CompletableFuture::isDone);
        SignedStatement pushed = ProofCheck.of(push, corrected.getInconsistentPushKey());
        StepResult result = mine.result();
        PublicKey key = upstream.link.publicKey();
        String address = upstream.hop.address();
        proofTasks.add(mine.signature().copy().orTimeout(stepTimeout.toMillis(), TimeUnit.MILLISECONDS).thenAccept(sig ->
                prove(pushed, result.toBuilder().setSignature(com.google.protobuf.ByteString.copyFrom(sig)).build(), key, address, push))
                .exceptionally(noSignature -> null));
    }

    private void prove(SignedStatement pushed, StepResult mine, PublicKey key, String address, Push push) {
        var proof = Proof.newBuilder().setVersion(1)
                .addStatements(pushed)
                .addStatements(ProofCheck.of(mine, key, address))
                .setNote("the push " + address + " sent downstream differed from the result "
                        + "it gave the client for step " + push.getStep()).build();
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

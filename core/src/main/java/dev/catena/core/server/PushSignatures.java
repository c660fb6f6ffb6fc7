package dev.catena.core.server;

import dev.catena.transport.proto.PushSignature;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A session's pushes' trailing signatures ({@link PushSignature} frames right after their pushes): kept
 * as they arrive, verified only when a push may become evidence, that is, when it proved inconsistent
 * with the client's copy. Validity never rests on them (the client's digest chain decides it).
 */
final class PushSignatures {
    /** How long a check waits for a push's trailing signature before it counts the push as unsigned. */
    static final long WAIT_MS = 1000;
    /** Signatures held for pushes not seen (yet): a peer cannot make the session hold more. */
    private static final int MAX_PENDING = 32;

    /** By step: completed on the transport's thread, awaited on the session's. */
    private final ConcurrentHashMap<Long, CompletableFuture<PushSignature>> byStep = new ConcurrentHashMap<>();

    /** A push's trailing signature, from the transport's thread. */
    void arrived(PushSignature ps) {
        if (byStep.size() >= MAX_PENDING && !byStep.containsKey(ps.getStep())) {
            return; // a peer sending signatures for pushes that never come: bounded, and ignored
        }
        byStep.computeIfAbsent(ps.getStep(), k -> new CompletableFuture<>()).complete(ps);
    }

    /** Forgets the signatures of steps before {@code step}: too old to become evidence. */
    void forgetBefore(long step) {
        byStep.keySet().removeIf(s -> s < step);
    }

    /**
     * Whether push {@code in} is signed by its sender: its inline signature, or the one trailing it
     * (waited for up to {@link #WAIT_MS}), over what the push carries, under its connection's key.
     */
    boolean signedBySender(StepInput in) {
        if (!in.hasSenderKey()) return false; // nothing could verify: not worth a wait
        if (!in.push.getSignature().isEmpty()) return in.signedBySender(in.push.getSignature().toByteArray());
        PushSignature ps;
        var trailing = byStep.computeIfAbsent(in.step(), k -> new CompletableFuture<>());
        try {
            ps = trailing.get(WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException late) {
            // Given up once per step: more pushes for this step (a peer sending many) do not wait again, in series.
            trailing.completeExceptionally(late);
            return false;
        } catch (ExecutionException none) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        return Arrays.equals(ps.getOutputDigest().toByteArray(), in.declaredDigest) && in.signedBySender(ps.getSignature().toByteArray());
    }
}

package dev.catena.core.client;

import com.google.protobuf.ByteString;
import dev.catena.transport.proto.ResultSignature;
import dev.catena.transport.proto.StepResult;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trailing signatures' slots: a signature that comes after its result was accepted completes what the
 * result's check and history hold, however the steps are numbered (issue 17's ring failover: a replayed
 * result's signature was lost, and its check waited the whole step timeout).
 */
class ResultSignaturesTest {
    private static final ByteString SESSION = ByteString.copyFromUtf8("session-0123456");
    private static final byte[] SIGNATURE = {1, 2, 3};

    private static ResultSignatures signatures() {
        return signatures(Duration.ofSeconds(1));
    }

    /** Slots also age out only after twice {@code timeout}: a short one, for the tests of the bounds. */
    private static ResultSignatures signatures(Duration timeout) {
        return new ResultSignatures(new ClientCounters(), timeout, 1.0, new SplittableRandom(17));
    }

    private static StepResult result(long step) {
        return StepResult.newBuilder().setSessionId(SESSION).setStep(step).setOutputDigest(ByteString.copyFromUtf8("digest-" + step)).build();
    }

    private static ResultSignature signatureOf(StepResult r) {
        return ResultSignature.newBuilder().setSessionId(r.getSessionId()).setStep(r.getStep()).setOutputDigest(r.getOutputDigest())
                .setSignature(ByteString.copyFrom(SIGNATURE)).build();
    }

    /** A ring's client steps open epochs 2^32 apart: a replay's step 15 is checked while step 17 is sent. */
    @Test
    void aRingReplaysSignatureThatTrailsTwoClientStepsStillCompletesItsResult() {
        var signatures = signatures();
        StepResult replayed = result(15L << 32);
        CompletableFuture<byte[]> held = signatures.of(replayed); // accepted: its history and check hold this
        signatures.check((16L << 32) - 1); // step 16's run: the checks up to 15's
        signatures.check((17L << 32) - 1); // step 17's run
        signatures.arrived(signatureOf(replayed)); // the signer's thread was late
        assertArrayEquals(SIGNATURE, held.getNow(null), "the signature came after two client steps and was lost to its result");
    }

    @Test
    void aPushSignatureNineStepsLateStillCompletesItsResult() {
        var signatures = signatures();
        StepResult r = result(5);
        CompletableFuture<byte[]> held = signatures.of(r);
        for (long step = 6; step <= 15; step++) signatures.check(step - 1);
        signatures.arrived(signatureOf(r));
        assertArrayEquals(SIGNATURE, held.getNow(null), "the signature came nine steps late and was lost to its result");
    }

    @Test
    void signaturesThatCameAndSignaturesNeverSentAreForgottenInBoundedTime() throws InterruptedException {
        var signatures = signatures(Duration.ofNanos(1));
        for (long step = 1; step <= 200; step++) {
            signatures.of(result(step)); // a server that never signs
            signatures.arrived(signatureOf(result(1_000_000 + step))); // signatures of results never accepted (a stale epoch's)
            signatures.check(1_000_000 + step - 1);
        }
        assertTrue(signatures.held() <= ResultSignatures.AWAITED_ROUNDS + 1 + 8, "held " + signatures.held());
        var once = signatures(Duration.ofMillis(1));
        once.of(result(1));
        Thread.sleep(5);
        for (int k = 0; k <= ResultSignatures.AWAITED_ROUNDS; k++) once.check(0);
        assertEquals(0, once.held(), "an awaited signature never sent is dropped after the rounds given");
    }

    /** A hostile hop sends signatures of steps far ahead under its own session: an honest hop's still find a place. */
    @Test
    void aHopFillingItsSlotsCannotCrowdOutAnotherHopsSignatures() throws InterruptedException {
        var signatures = signatures(Duration.ofMillis(1));
        ByteString hostile = ByteString.copyFromUtf8("session-hostile");
        for (long step = 0; step < 10_000; step++) {
            signatures.arrived(ResultSignature.newBuilder().setSessionId(hostile).setStep(Long.MAX_VALUE - step)
                    .setOutputDigest(ByteString.copyFromUtf8("x")).setSignature(ByteString.copyFrom(SIGNATURE)).build());
        }
        StepResult honest = result(3);
        signatures.arrived(signatureOf(honest)); // before its result, as in ring mode
        assertArrayEquals(SIGNATURE, signatures.of(honest).getNow(null), "the honest hop's signature was dropped");
        Thread.sleep(5);
        for (int k = 0; k <= ResultSignatures.AWAITED_ROUNDS + 1; k++) signatures.check(0);
        assertEquals(0, signatures.held(), "the hostile hop's slots of steps never reached are gone after the rounds given");
    }

    /** A fast ring runs many check rounds in a few ms: a signer that lags them still completes its result. */
    @Test
    void aSignatureLateByManyFastRoundsStillCompletesItsResult() {
        var signatures = signatures(); // 1 s timeout
        StepResult r = result(5);
        CompletableFuture<byte[]> held = signatures.of(r);
        for (int k = 0; k < 3 * ResultSignatures.AWAITED_ROUNDS; k++) signatures.check(4);
        signatures.arrived(signatureOf(r));
        assertArrayEquals(SIGNATURE, held.getNow(null), "dropped after the rounds, within the timeout");
    }
}

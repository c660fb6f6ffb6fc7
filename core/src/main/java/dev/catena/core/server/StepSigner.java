package dev.catena.core.server;

import com.google.protobuf.ByteString;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.PushSignature;
import dev.catena.transport.proto.ResultSignature;
import dev.catena.transport.sign.Statements;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Signs a session's steps (README, "Signed statements") off the session's thread: one statement per step
 * ({@link Statements#step}), whose signature serves its result and its push alike. The result and the push
 * leave at once and the signature trails each on its connection, signed while the client or the next
 * server works on them.
 */
final class StepSigner {
    private static final ExecutorService SIGNERS = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("catena-sign").factory());

    private StepSigner() {
    }

    /**
     * Signs the step this server's session {@code session} just answered {@code client} with and, when
     * {@code receiverSession} is not empty, pushed to that session at {@code to}; sends the one signature
     * to both, as a {@link ResultSignature} and a {@link PushSignature}.
     *
     * @param token the ring token sampled from the output, {@link Statements#NO_TOKEN} when none
     */
    static void step(SessionHost host, Connection client, byte[] session, String to, ByteString receiverSession, long step,
                     int position, byte[] inputDigest, byte[] outputDigest, int token) {
        SIGNERS.execute(() -> {
            byte[] statement = Statements.step(session, receiverSession.toByteArray(), step, position, inputDigest, outputDigest, token);
            ByteString signature = ByteString.copyFrom(Statements.sign(host.signingKey(), statement));
            ByteString output = ByteString.copyFrom(outputDigest);
            if (!receiverSession.isEmpty()) {
                host.pushSignature(to, Frame.of(Envelope.newBuilder().setPushSignature(PushSignature.newBuilder()
                        .setSessionId(receiverSession).setStep(step).setOutputDigest(output).setSignature(signature)).build()));
            }
            client.send(Frame.of(Envelope.newBuilder().setResultSignature(ResultSignature.newBuilder()
                    .setSessionId(ByteString.copyFrom(session)).setStep(step).setOutputDigest(output).setSignature(signature)).build()));
        });
    }
}

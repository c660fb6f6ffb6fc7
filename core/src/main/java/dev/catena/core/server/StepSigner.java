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
 * Signs a session's results and pushes (README, "Signed statements") off the session's thread: the
 * result or push leaves at once and its signature trails it on the same connection, signed while the
 * client or the next server works on it.
 */
final class StepSigner {
    private static final ExecutorService SIGNERS = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("catena-sign").factory());

    private StepSigner() {
    }

    /** The {@link ResultSignature} of the result this server (session {@code session}) just sent {@code client}. */
    static void result(SessionHost host, Connection client, byte[] session, long step, int position, byte[] inputDigest, byte[] outputDigest) {
        byte[] statement = Statements.result(session, step, position, inputDigest, outputDigest);
        SIGNERS.execute(() -> client.send(Frame.of(Envelope.newBuilder().setResultSignature(ResultSignature.newBuilder()
                .setSessionId(ByteString.copyFrom(session)).setStep(step).setOutputDigest(ByteString.copyFrom(outputDigest))
                .setSignature(ByteString.copyFrom(Statements.sign(host.signingKey(), statement)))).build())));
    }

    /** The {@link PushSignature} of the push to {@code receiverSession} at {@code to} that this server's {@code origin} session just sent. */
    static void push(SessionHost host, String to, ByteString receiverSession, long step, int position, byte[] inputDigest,
                     byte[] outputDigest, byte[] origin) {
        byte[] statement = Statements.push(receiverSession.toByteArray(), step, position, inputDigest, outputDigest, origin);
        SIGNERS.execute(() -> host.pushSignature(to, Frame.of(Envelope.newBuilder().setPushSignature(PushSignature.newBuilder()
                .setSessionId(receiverSession).setStep(step).setOutputDigest(ByteString.copyFrom(outputDigest))
                .setSignature(ByteString.copyFrom(Statements.sign(host.signingKey(), statement)))).build())));
    }
}

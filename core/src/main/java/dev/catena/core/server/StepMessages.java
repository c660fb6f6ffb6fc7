package dev.catena.core.server;

import com.google.protobuf.ByteString;
import dev.catena.transport.proto.Push;
import dev.catena.transport.proto.SignedStatement;
import dev.catena.transport.proto.StepResult;
import dev.catena.transport.proto.TensorMeta;

/** The messages a session's computed step goes out as: the push to the next server, and the result to the client. */
final class StepMessages {
    private StepMessages() {
    }

    /** Session {@code origin}'s output for {@code in}, pushed to the next server's session {@code to}. */
    static Push push(ByteString to, StepInput in, TensorMeta meta, String sender, byte[] inputDigest, byte[] outputDigest, byte[] origin) {
        return Push.newBuilder().setSessionId(to).setStep(in.step()).setPosition(in.position())
                .setHidden(meta).setSender(sender).setDigest(ByteString.copyFrom(outputDigest))
                .setInputDigest(ByteString.copyFrom(inputDigest))
                .setOriginSessionId(ByteString.copyFrom(origin)).build();
    }

    /** Session {@code id}'s result for {@code in} (a ring's first server names the token it ran on); {@code pushedTo} empty when no push went. */
    static StepResult.Builder result(byte[] id, StepInput in, int length, TensorMeta outMeta, byte[] inputDigest, boolean corrected,
                                     byte[] outputDigest, ByteString pushedTo) {
        var result = StepResult.newBuilder().setSessionId(ByteString.copyFrom(id))
                .setStep(in.step()).setPosition(in.position()).setLength(length).setHidden(outMeta)
                .setInputDigest(ByteString.copyFrom(inputDigest)).setSource(in.source())
                .setCorrected(corrected).setOutputDigest(ByteString.copyFrom(outputDigest))
                .setPushedSessionId(pushedTo);
        if (in.ringInput != null) result.setRingInput(in.ringInput);
        return result;
    }

    /** Adds the push that proved inconsistent with the client's copy (this input's, or the one before), and its sender's key. */
    static void withEvidence(StepResult.Builder result, StepInput in, SignedStatement evidence) {
        result.setInconsistentPush(in.push == null ? previousPush(evidence) : in.push).setInconsistentPushKey(evidence.getPublicKey());
    }

    /** The push an evidence statement was made of, as it travelled. */
    private static Push previousPush(SignedStatement e) {
        return Push.newBuilder().setSessionId(e.getReceiverSessionId()).setStep(e.getStep()).setPosition(e.getPosition())
                .setInputDigest(e.getInputDigest()).setDigest(e.getOutputDigest()).setOriginSessionId(e.getSessionId())
                .setSignature(e.getSignature()).setSender(e.getSignerAddress()).build();
    }
}

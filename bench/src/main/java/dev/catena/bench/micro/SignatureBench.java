package dev.catena.bench.micro;

import dev.catena.core.Identity;
import dev.catena.core.protocol.Tensors;
import dev.catena.transport.proto.DType;
import dev.catena.transport.sign.Statements;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * What signing adds to one hop of one token (issue 14): the server signs its push and its result
 * (Ed25519 over a ~120-byte statement of digests, not over the tensor), the next server verifies the
 * push and the client the result. The SHA-256 of the hidden state is already paid without signatures
 * (HopBench.digest); {@link #signedHop} is the whole added cost: 2 signs and 2 verifies.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SignatureBench {
    @Param({"4096"})
    int nEmbd;

    Identity identity;
    ByteBuffer wire;
    byte[] session = new byte[16], receiver = new byte[16], inputDigest, outputDigest;
    byte[] resultSignature, pushSignature;

    @Setup
    public void setUp() {
        var random = new Random(14);
        float[] hidden = new float[nEmbd];
        for (int i = 0; i < nEmbd; i++) hidden[i] = (float) random.nextGaussian();
        wire = Tensors.encode(hidden, DType.F32);
        random.nextBytes(session);
        random.nextBytes(receiver);
        inputDigest = Tensors.digest(wire);
        outputDigest = Tensors.digest(wire);
        identity = Identity.generate();
        resultSignature = Statements.sign(identity.privateKey(), Statements.result(session, 7, 100, inputDigest, outputDigest));
        pushSignature = Statements.sign(identity.privateKey(), Statements.push(receiver, 7, 100, inputDigest, outputDigest, session));
    }

    @Benchmark
    public byte[] signResult() {
        return Statements.sign(identity.privateKey(), Statements.result(session, 7, 100, inputDigest, outputDigest));
    }

    @Benchmark
    public boolean verifyResult() {
        return Statements.verify(identity.publicKey(), Statements.result(session, 7, 100, inputDigest, outputDigest), resultSignature);
    }

    /** One hop's whole signing cost: sign push and result, verify both. */
    @Benchmark
    public boolean signedHop() {
        byte[] push = Statements.sign(identity.privateKey(), Statements.push(receiver, 7, 100, inputDigest, outputDigest, session));
        byte[] result = Statements.sign(identity.privateKey(), Statements.result(session, 7, 100, inputDigest, outputDigest));
        return Statements.verify(identity.publicKey(), Statements.push(receiver, 7, 100, inputDigest, outputDigest, session), push)
                & Statements.verify(identity.publicKey(), Statements.result(session, 7, 100, inputDigest, outputDigest), result);
    }

    /** For scale: the SHA-256 of the hidden state every hop already computes. */
    @Benchmark
    public byte[] digestHidden() {
        return Tensors.digest(wire);
    }
}

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
 * What signing adds to one hop of one token (issue 14): the server signs one statement per step, for
 * its push and its result (Ed25519 over a ~140-byte statement of digests, not over the tensor); the
 * client verifies a sample of them, the next server only those of pushes that prove inconsistent. The
 * SHA-256 of the hidden state is already paid without signatures (HopBench.digest); {@link #signedHop}
 * is a checked hop's added cost: 1 sign and 1 verify.
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
    byte[] stepSignature;

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
        stepSignature = Statements.sign(identity.privateKey(), statement());
    }

    private byte[] statement() {
        return Statements.step(session, receiver, 7, 100, inputDigest, outputDigest, Statements.NO_TOKEN);
    }

    /** A server's one signature per step (for its result and its push alike). */
    @Benchmark
    public byte[] signStep() {
        return Statements.sign(identity.privateKey(), statement());
    }

    @Benchmark
    public boolean verifyStep() {
        return Statements.verify(identity.publicKey(), statement(), stepSignature);
    }

    /** One hop's whole signing cost when its signature is checked: one sign, one verify. */
    @Benchmark
    public boolean signedHop() {
        byte[] signature = Statements.sign(identity.privateKey(), statement());
        return Statements.verify(identity.publicKey(), statement(), signature);
    }

    /** For scale: the SHA-256 of the hidden state every hop already computes. */
    @Benchmark
    public byte[] digestHidden() {
        return Tensors.digest(wire);
    }
}

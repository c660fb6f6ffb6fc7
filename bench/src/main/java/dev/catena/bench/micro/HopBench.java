package dev.catena.bench.micro;

import com.google.protobuf.ByteString;
import dev.catena.core.protocol.Tensors;
import dev.catena.transport.netty.FrameCodec;
import dev.catena.transport.proto.DType;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.Step;
import dev.catena.transport.proto.TensorMeta;
import dev.catena.transport.spi.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * What one hop does to one token's hidden state besides compute, piece by piece: wire encoding
 * (float[] to bytes and back), the SHA-256 digest, the frame codec, and the copies (a received
 * payload into an owned buffer, and the hidden state into off-heap memory for ggml).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class HopBench {
    @Param({"4096"})
    int nEmbd;

    float[] hidden;
    ByteBuffer wire;
    TensorMeta meta;
    Frame frame;
    ByteBuf encoded;
    ByteBuffer received;
    Arena arena;
    MemorySegment offHeap;

    @Setup
    public void setUp() throws IOException {
        var random = new Random(1);
        hidden = new float[nEmbd];
        for (int i = 0; i < nEmbd; i++) hidden[i] = (float) random.nextGaussian();
        wire = Tensors.encode(hidden, DType.F32);
        meta = Tensors.meta(DType.F32, 1, nEmbd);
        var step = Step.newBuilder().setSessionId(ByteString.copyFrom(new byte[16])).setStep(100).setPosition(100).setHidden(meta)
                .setDigest(ByteString.copyFrom(Tensors.digest(wire)));
        frame = new Frame(Envelope.newBuilder().setRequestId(7).setStep(step).build(), wire);
        ByteBuf full = FrameCodec.encode(frame, PooledByteBufAllocator.DEFAULT);
        encoded = full.copy(4, full.readableBytes() - 4); // the decoder sees the frame after its length prefix
        full.release();
        received = ByteBuffer.allocateDirect(wire.remaining()).put(wire.duplicate()).flip().asReadOnlyBuffer();
        arena = Arena.ofConfined();
        offHeap = arena.allocate((long) nEmbd * 4, 64);
    }

    @TearDown
    public void tearDown() {
        encoded.release();
        arena.close();
    }

    @Benchmark
    public ByteBuffer encodeF32() {
        return Tensors.encode(hidden, DType.F32);
    }

    @Benchmark
    public float[] decodeF32() {
        return Tensors.decode(wire.duplicate(), meta, nEmbd);
    }

    @Benchmark
    public byte[] digestSha256() {
        return Tensors.digest(wire.duplicate());
    }

    @Benchmark
    public int frameEncode() throws IOException {
        ByteBuf b = FrameCodec.encode(frame, PooledByteBufAllocator.DEFAULT);
        int n = b.readableBytes();
        b.release();
        return n;
    }

    @Benchmark
    public Frame frameDecode() throws IOException {
        return FrameCodec.decode(encoded.duplicate());
    }

    /** What the server and the client do with a received payload: copy it out of the transport's (direct) buffer. */
    @Benchmark
    public ByteBuffer copyPayload() {
        return Tensors.copy(received);
    }

    /** The hidden state into native memory, as a span's input tensor is set. */
    @Benchmark
    public MemorySegment copyToOffHeap() {
        MemorySegment.copy(hidden, 0, offHeap, ValueLayout.JAVA_FLOAT, 0, nEmbd);
        return offHeap;
    }
}

package dev.catena.transport.contract;

import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.Hello;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;

/** Raw wire bytes, honest and not, for transports with a wire. */
public final class WireFrames {
    private WireFrames() {
    }

    public enum Kind { RANDOM_BYTES, HUGE_LENGTH, HEADER_LONGER_THAN_FRAME, FRAME_SHORTER_THAN_4, GARBAGE_HEADER, MUTATED, TRUNCATED, VALID }

    public record Sample(Kind kind, byte[] bytes) {
    }

    /** {@code [u32 frame length][u32 header length][header][payload]}, big-endian. */
    public static byte[] encode(Envelope header, byte[] payload) {
        byte[] h = header.toByteArray();
        return ByteBuffer.allocate(8 + h.length + payload.length)
                .putInt(4 + h.length + payload.length).putInt(h.length).put(h).put(payload).array();
    }

    public static byte[] withLengths(long frameLength, long headerLength, byte[] rest) {
        return ByteBuffer.allocate(8 + rest.length).putInt((int) frameLength).putInt((int) headerLength).put(rest).array();
    }

    /** One sample of a random kind, sized for a receiver with {@code maxFrameBytes}. */
    public static Sample sample(Random random, int maxFrameBytes) {
        Kind kind = Kind.values()[random.nextInt(Kind.values().length)];
        return new Sample(kind, bytes(kind, random, maxFrameBytes));
    }

    private static byte[] bytes(Kind kind, Random random, int maxFrameBytes) {
        return switch (kind) {
            case RANDOM_BYTES -> randomBytes(random, 1 + random.nextInt(300));
            case HUGE_LENGTH -> {
                long[] lengths = {0xFFFF_FFFFL, 0x8000_0000L, Integer.MAX_VALUE, maxFrameBytes + 1L, maxFrameBytes + 4L};
                yield withLengths(lengths[random.nextInt(lengths.length)], random.nextInt(64), randomBytes(random, random.nextInt(64)));
            }
            case HEADER_LONGER_THAN_FRAME -> {
                int rest = random.nextInt(100);
                long headerLength = rest + 1 + (random.nextBoolean() ? random.nextInt(1000) : 0xFFFF_FF00L + random.nextInt(255));
                yield withLengths(4 + rest, headerLength, randomBytes(random, rest));
            }
            case FRAME_SHORTER_THAN_4 -> {
                int length = random.nextInt(4);
                yield ByteBuffer.allocate(4 + length).putInt(length).put(randomBytes(random, length)).array();
            }
            case GARBAGE_HEADER -> {
                int h = 1 + random.nextInt(100);
                int p = random.nextInt(100);
                yield withLengths(4 + h + p, h, randomBytes(random, h + p));
            }
            case MUTATED -> {
                byte[] bytes = valid(random);
                for (int i = 1 + random.nextInt(4); i > 0; i--) {
                    bytes[random.nextInt(bytes.length)] ^= (byte) (1 + random.nextInt(255));
                }
                yield bytes;
            }
            case TRUNCATED -> {
                byte[] bytes = valid(random);
                yield Arrays.copyOf(bytes, random.nextInt(bytes.length));
            }
            case VALID -> valid(random);
        };
    }

    private static byte[] valid(Random random) {
        Envelope header = Envelope.newBuilder().setRequestId(random.nextLong())
                .setHello(Hello.newBuilder().setProtocolVersion(1).setAgent("fuzz")).build();
        return encode(header, randomBytes(random, random.nextInt(200)));
    }

    private static byte[] randomBytes(Random random, int n) {
        byte[] bytes = new byte[n];
        random.nextBytes(bytes);
        return bytes;
    }
}

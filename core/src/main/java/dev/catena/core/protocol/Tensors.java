package dev.catena.core.protocol;

import dev.catena.transport.proto.DType;
import dev.catena.transport.proto.TensorMeta;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Hidden states on the wire: row-major {@code [n, d]}, little-endian f32, f16 or bf16, and the
 * SHA-256 digest of exactly those bytes (what PROTOCOL.md's input_digest is computed over).
 */
public final class Tensors {
    private Tensors() {
    }

    public static int elementBytes(DType dtype) {
        return switch (dtype) {
            case F32 -> 4;
            case F16, BF16 -> 2;
            default -> throw new IllegalArgumentException("no element size for dtype " + dtype);
        };
    }

    public static TensorMeta meta(DType dtype, int n, int d) {
        return TensorMeta.newBuilder().setDtype(dtype).addShape(n).addShape(d).build();
    }

    /** Encodes {@code values} ({@code n * d} floats) as {@code dtype}; f16 and bf16 round to nearest even. */
    public static ByteBuffer encode(float[] values, DType dtype) {
        ByteBuffer out = ByteBuffer.allocate(values.length * elementBytes(dtype)).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32 -> out.asFloatBuffer().put(values); // FloatBuffer view keeps the buffer's order
            case F16 -> {
                for (float v : values) out.putShort(Float.floatToFloat16(v));
            }
            case BF16 -> {
                for (float v : values) out.putShort(toBf16(v));
            }
            default -> throw new IllegalArgumentException("cannot encode dtype " + dtype);
        }
        out.rewind();
        return out.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Decodes a payload that {@code meta} describes, checking that the sizes agree.
     *
     * @throws IllegalArgumentException when the shape is not {@code [n, d]} with the expected d, or
     *         the payload size does not match
     */
    public static float[] decode(ByteBuffer payload, TensorMeta meta, int expectedD) {
        if (meta.getShapeCount() != 2) {
            throw new IllegalArgumentException("hidden states must have shape [n, d], got " + meta.getShapeList());
        }
        long n = Integer.toUnsignedLong(meta.getShape(0));
        long d = Integer.toUnsignedLong(meta.getShape(1));
        if (d != expectedD || n < 1) {
            throw new IllegalArgumentException("hidden states of shape [" + n + ", " + d + "], expected [n >= 1, " + expectedD + "]");
        }
        int element = elementBytes(meta.getDtype());
        if ((long) payload.remaining() != n * d * element) {
            throw new IllegalArgumentException("payload of " + payload.remaining() + " bytes for shape [" + n + ", " + d + "] of "
                    + meta.getDtype() + " (" + n * d * element + " bytes expected)");
        }
        ByteBuffer in = payload.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[(int) (n * d)];
        switch (meta.getDtype()) {
            case F32 -> in.asFloatBuffer().get(out);
            case F16 -> {
                for (int i = 0; i < out.length; i++) out[i] = Float.float16ToFloat(in.getShort());
            }
            case BF16 -> {
                for (int i = 0; i < out.length; i++) out[i] = Float.intBitsToFloat((in.getShort() & 0xFFFF) << 16);
            }
            default -> throw new IllegalArgumentException("unknown dtype " + meta.getDtype());
        }
        return out;
    }

    /**
     * An owned copy of a payload's remaining bytes (a received payload is only valid during its
     * callback), read-only and little-endian.
     */
    public static ByteBuffer copy(ByteBuffer payload) {
        byte[] bytes = new byte[payload.remaining()];
        payload.duplicate().get(bytes);
        return ByteBuffer.wrap(bytes).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** SHA-256 of the payload's remaining bytes (its position is left unchanged). */
    public static byte[] digest(ByteBuffer payload) {
        MessageDigest sha = SHA256.get(); // one per thread: no provider lookup on a step's path
        sha.update(payload.duplicate()); // never moves the caller's position: other threads may read the buffer
        return sha.digest(); // digest() resets it for the next use
    }

    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    });

    private static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40); // keep it a NaN
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}

package dev.catena.core.protocol;

import dev.catena.transport.proto.DType;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorsTest {
    static final long SEED = Long.getLong("catena.test.seed", 99L);

    @Test
    void f32RoundTripsExactlyAndHalfPrecisionsRoundToNearest() {
        var random = new Random(SEED);
        float[] v = new float[3 * 64];
        for (int i = 0; i < v.length; i++) v[i] = (float) random.nextGaussian() * 10;
        assertArrayEquals(v, Tensors.decode(Tensors.encode(v, DType.F32), Tensors.meta(DType.F32, 3, 64), 64));
        float[] h = Tensors.decode(Tensors.encode(v, DType.F16), Tensors.meta(DType.F16, 3, 64), 64);
        float[] b = Tensors.decode(Tensors.encode(v, DType.BF16), Tensors.meta(DType.BF16, 3, 64), 64);
        for (int i = 0; i < v.length; i++) {
            assertEquals(Float.float16ToFloat(Float.floatToFloat16(v[i])), h[i], "seed " + SEED + " f16 " + i);
            assertEquals(v[i], b[i], Math.abs(v[i]) / 256, "seed " + SEED + " bf16 " + i); // 8 bits of mantissa
        }
        assertEquals(1.0f, Tensors.decode(Tensors.encode(new float[]{1.0039062f}, DType.BF16), Tensors.meta(DType.BF16, 1, 1), 1)[0],
                "ties round to even");
        assertTrue(Float.isNaN(Tensors.decode(Tensors.encode(new float[]{Float.NaN}, DType.BF16), Tensors.meta(DType.BF16, 1, 1), 1)[0]));
    }

    @Test
    void sizesMustAgreeWithTheShape() {
        ByteBuffer four = Tensors.encode(new float[4], DType.F32);
        assertThrows(IllegalArgumentException.class, () -> Tensors.decode(four, Tensors.meta(DType.F32, 2, 4), 4));
        assertThrows(IllegalArgumentException.class, () -> Tensors.decode(four, Tensors.meta(DType.F32, 1, 2), 2 * 2));
        assertThrows(IllegalArgumentException.class, () -> Tensors.decode(four, Tensors.meta(DType.F16, 1, 4), 4));
        assertThrows(IllegalArgumentException.class, () -> Tensors.decode(four, Tensors.meta(DType.DTYPE_UNSPECIFIED, 1, 4), 4));
    }

    @Test
    void theDigestIsSha256OfTheWireBytes() throws Exception {
        ByteBuffer bytes = Tensors.encode(new float[]{1, 2, 3}, DType.F32);
        byte[] expected = java.security.MessageDigest.getInstance("SHA-256").digest(new byte[]{0, 0, (byte) 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40});
        assertArrayEquals(expected, Tensors.digest(bytes));
        assertEquals(0, bytes.position(), "digest leaves the buffer as it was");
    }
}

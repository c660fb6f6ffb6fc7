package dev.catena.ffm.ggml;

import dev.catena.ffm.FfmSpanBackend;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.catena.ffm.internal.ggml_h.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A zeroed buffer reads zero everywhere, also where a buffer freed just before was written. */
class BackendBufferTest {

    @Test
    void aZeroedCpuBufferReadsZeroAfterADirtyOneOfItsSizeWasFreed() {
        FfmSpanBackend.instance().devices(); // loads the natives and registers the backends
        for (long elements : new long[]{1000, 300_000, 3_000_001}) { // under, around and over glibc's mmap threshold
            for (int round = 0; round < 3; round++) {
                try (var ctx = GgmlContext.create(1, 0)) {
                    MemorySegment tensor = ctx.newTensor(GGML_TYPE_F32(), elements);
                    try (var buffer = BackendBuffer.zeroed(ctx, ggml_backend_cpu_buffer_type(), "test")) {
                        MemorySegment data = ggml_get_data(tensor).reinterpret(elements * Float.BYTES);
                        for (long i = 0; i < elements; i++) {
                            assertEquals(0f, data.getAtIndex(ValueLayout.JAVA_FLOAT, i),
                                    "element " + i + " of " + elements + " in round " + round);
                        }
                        data.fill((byte) 0x7f); // NaNs for the next round's buffer, should it get this memory
                        org.junit.jupiter.api.Assertions.assertTrue(buffer.size() >= elements * Float.BYTES);
                    }
                }
            }
        }
    }
}

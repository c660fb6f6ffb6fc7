package dev.catena.ffm.ggml;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * Copies between Java arrays and tensors with no staging buffer and no arena: ggml's
 * {@code ggml_backend_tensor_set/get} are bound as critical downcalls that may read and write the
 * heap arrays in place (a memcpy on the CPU, a synchronous copy on a GPU). Per step this replaces
 * an arena, an off-heap staging copy and its release for each input and output.
 */
public final class HostCopies {
    // void ggml_backend_tensor_set(struct ggml_tensor *, const void *, size_t offset, size_t size), same for _get
    private static final FunctionDescriptor COPY = FunctionDescriptor.ofVoid(C_POINTER, C_POINTER, C_LONG, C_LONG);
    private static final MethodHandle SET = Linker.nativeLinker().downcallHandle(ggml_backend_tensor_set$address(), COPY,
            Linker.Option.critical(true));
    private static final MethodHandle GET = Linker.nativeLinker().downcallHandle(ggml_backend_tensor_get$address(), COPY,
            Linker.Option.critical(true));

    private HostCopies() {
    }

    /** Writes the first {@code count} elements of {@code values} to the start of {@code tensor}. */
    public static void write(MemorySegment tensor, float[] values, int count) {
        set(tensor, MemorySegment.ofArray(values), (long) count * Float.BYTES);
    }

    public static void write(MemorySegment tensor, int[] values, int count) {
        set(tensor, MemorySegment.ofArray(values), (long) count * Integer.BYTES);
    }

    public static void write(MemorySegment tensor, long[] values, int count) {
        set(tensor, MemorySegment.ofArray(values), (long) count * Long.BYTES);
    }

    public static void write(MemorySegment tensor, short[] values, int count) {
        set(tensor, MemorySegment.ofArray(values), (long) count * Short.BYTES);
    }

    /** Reads a whole F32 tensor. */
    public static float[] readF32(MemorySegment tensor) {
        long bytes = ggml_nbytes(tensor);
        float[] out = new float[Math.toIntExact(bytes / Float.BYTES)];
        try {
            GET.invokeExact(tensor, MemorySegment.ofArray(out), 0L, bytes);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return out;
    }

    private static void set(MemorySegment tensor, MemorySegment data, long bytes) {
        long room = ggml_nbytes(tensor);
        if (bytes > room || bytes > data.byteSize()) {
            throw new IllegalArgumentException("copying " + bytes + " bytes into a tensor of " + room + " bytes from "
                    + data.byteSize());
        }
        try {
            SET.invokeExact(tensor, data, 0L, bytes);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("ggml tensor copy", t);
    }
}

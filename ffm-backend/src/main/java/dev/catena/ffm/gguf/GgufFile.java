package dev.catena.ffm.gguf;

import dev.catena.api.ModelFormatException;
import dev.catena.ffm.natives.LlamaNatives;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.catena.ffm.internal.*;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * A GGUF file's header, metadata and tensor table, read through ggml's own gguf reader. A plain
 * Java value: the native context is freed before {@link #read} returns, so nothing here can leak.
 *
 * @param metadata  keys in file order; scalars as Java boxes (unsigned widened), strings as
 *                  String, arrays as {@link GgufArray}
 * @param dataOffset where the tensor data starts in the file
 */
public record GgufFile(Path path, long fileSize, int version, long alignment, long dataOffset,
                       Map<String, Object> metadata, List<GgufTensor> tensors) {

    private static final byte[] MAGIC = "GGUF".getBytes(StandardCharsets.US_ASCII);

    /**
     * Reads the header, metadata and tensor table of {@code path}.
     *
     * @throws ModelFormatException when the file is missing, not GGUF, malformed or truncated
     */
    public static GgufFile read(Path path) {
        long size = checkReadable(path);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ctx = openContext(path, arena);
            GgufFile file = new GgufFile(path, size, gguf_get_version(ctx), gguf_get_alignment(ctx),
                    gguf_get_data_offset(ctx), readMetadata(ctx), readTensors(ctx));
            file.checkComplete();
            return file;
        }
    }

    /**
     * ggml's own reader on {@code path}, metadata only ({@code no_alloc}), as a {@code gguf_context}
     * freed when {@code arena} closes.
     *
     * @throws ModelFormatException with ggml's reason when it cannot read the file
     */
    public static MemorySegment openContext(Path path, Arena arena) {
        MemorySegment params = gguf_init_params.allocate(arena);
        gguf_init_params.no_alloc(params, true);
        gguf_init_params.ctx(params, MemorySegment.NULL);
        LlamaNatives.clearErrors();
        MemorySegment raw = gguf_init_from_file(arena.allocateFrom(path.toString()), params);
        if (raw.equals(MemorySegment.NULL)) {
            String why = LlamaNatives.takeErrors().orElse("no reason given");
            throw new ModelFormatException(path, "malformed GGUF (ggml: " + why + ")");
        }
        return raw.reinterpret(arena, c -> gguf_free(c));
    }

    /** Metadata value as a string, if present and a string. */
    public Optional<String> string(String key) {
        return metadata.get(key) instanceof String s ? Optional.of(s) : Optional.empty();
    }

    /** Metadata value as a long, if present and an integer of any width. */
    public Optional<Long> integer(String key) {
        Object v = metadata.get(key);
        return v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte
                ? Optional.of(((Number) v).longValue()) : Optional.empty();
    }

    public Optional<GgufTensor> tensor(String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst();
    }

    private static long checkReadable(Path path) {
        if (!Files.exists(path)) {
            throw new ModelFormatException(path, "no such file");
        }
        if (Files.isDirectory(path)) {
            throw new ModelFormatException(path, "is a directory, not a GGUF file");
        }
        if (!Files.isReadable(path)) {
            throw new ModelFormatException(path, "not readable (permissions)");
        }
        try (InputStream in = Files.newInputStream(path)) {
            byte[] head = in.readNBytes(MAGIC.length);
            if (!java.util.Arrays.equals(head, MAGIC)) {
                throw new ModelFormatException(path, "not a GGUF file (it does not start with the bytes 'GGUF')");
            }
            return Files.size(path);
        } catch (IOException e) {
            throw new ModelFormatException(path, "cannot be read: " + e.getMessage());
        }
    }

    /** ggml reads only the header; a file cut short inside the tensor data must be caught here. */
    private void checkComplete() {
        long end = dataOffset;
        for (GgufTensor t : tensors) {
            end = Math.max(end, dataOffset + t.offset() + t.bytes());
        }
        if (end > fileSize) {
            throw new ModelFormatException(path, "truncated: the tensor data needs " + end + " bytes, the file has "
                    + fileSize);
        }
    }

    private static Map<String, Object> readMetadata(MemorySegment ctx) {
        long n = gguf_get_n_kv(ctx);
        Map<String, Object> out = new LinkedHashMap<>();
        for (long id = 0; id < n; id++) {
            String key = cString(gguf_get_key(ctx, id));
            int type = gguf_get_kv_type(ctx, id);
            out.put(key, type == GGUF_TYPE_ARRAY() ? readArray(ctx, id) : readScalar(ctx, id, type));
        }
        return Collections.unmodifiableMap(out);
    }

    // Each getter aborts the process when called for the wrong type, so dispatch on the stored type only.
    private static Object readScalar(MemorySegment ctx, long id, int type) {
        if (type == GGUF_TYPE_UINT8()) return Byte.toUnsignedInt(gguf_get_val_u8(ctx, id));
        if (type == GGUF_TYPE_INT8()) return (int) gguf_get_val_i8(ctx, id);
        if (type == GGUF_TYPE_UINT16()) return Short.toUnsignedInt(gguf_get_val_u16(ctx, id));
        if (type == GGUF_TYPE_INT16()) return (int) gguf_get_val_i16(ctx, id);
        if (type == GGUF_TYPE_UINT32()) return Integer.toUnsignedLong(gguf_get_val_u32(ctx, id));
        if (type == GGUF_TYPE_INT32()) return (long) gguf_get_val_i32(ctx, id);
        if (type == GGUF_TYPE_UINT64()) return gguf_get_val_u64(ctx, id); // values >= 2^63 read as negative
        if (type == GGUF_TYPE_INT64()) return gguf_get_val_i64(ctx, id);
        if (type == GGUF_TYPE_FLOAT32()) return gguf_get_val_f32(ctx, id);
        if (type == GGUF_TYPE_FLOAT64()) return gguf_get_val_f64(ctx, id);
        if (type == GGUF_TYPE_BOOL()) return gguf_get_val_bool(ctx, id);
        if (type == GGUF_TYPE_STRING()) return cString(gguf_get_val_str(ctx, id));
        throw new IllegalStateException("unknown gguf type " + type);
    }

    private static GgufArray readArray(MemorySegment ctx, long id) {
        int elementType = gguf_get_arr_type(ctx, id);
        long n = gguf_get_arr_n(ctx, id);
        String typeName = cString(gguf_type_name(elementType));
        if (elementType == GGUF_TYPE_STRING()) {
            List<String> values = new ArrayList<>((int) Math.min(n, 1 << 20));
            for (long i = 0; i < n; i++) {
                values.add(cString(gguf_get_arr_str(ctx, id, i)));
            }
            return new GgufArray(typeName, n, List.copyOf(values));
        }
        return new GgufArray(typeName, n, null);
    }

    private static List<GgufTensor> readTensors(MemorySegment ctx) {
        long n = gguf_get_n_tensors(ctx);
        List<GgufTensor> out = new ArrayList<>((int) n);
        for (long id = 0; id < n; id++) {
            MemorySegment ne = gguf_get_tensor_ne(ctx, id).reinterpret(4 * Long.BYTES);
            long[] shape = ne.toArray(ValueLayout.JAVA_LONG);
            int type = gguf_get_tensor_type(ctx, id);
            out.add(new GgufTensor(cString(gguf_get_tensor_name(ctx, id)), type, cString(ggml_type_name(type)),
                    shape, gguf_get_tensor_offset(ctx, id), gguf_get_tensor_size(ctx, id)));
        }
        return List.copyOf(out);
    }

    static String cString(MemorySegment s) {
        return s.equals(MemorySegment.NULL) ? null : s.reinterpret(Long.MAX_VALUE).getString(0);
    }
}

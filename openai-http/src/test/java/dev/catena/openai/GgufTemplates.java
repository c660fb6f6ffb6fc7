package dev.catena.openai;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Test helper: a copy of a GGUF file (version 2 or 3) with a {@code tokenizer.chat_template} added, written in plain
 * Java from the format's specification (header, key-values, tensor infos, padding, data), so that the server's
 * template handling is tested on a file that llama.cpp did not write.
 */
final class GgufTemplates {
    private static final int MAGIC = 0x46554747; // "GGUF" little-endian
    private static final int TYPE_STRING = 8;
    private static final int TYPE_ARRAY = 9;
    private static final String KEY = "tokenizer.chat_template";

    private GgufTemplates() {
    }

    static Path withChatTemplate(Path from, Path to, String template) throws IOException {
        ByteBuffer in;
        try (FileChannel ch = FileChannel.open(from)) {
            in = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()).order(ByteOrder.LITTLE_ENDIAN);
        }
        if (in.getInt() != MAGIC) throw new IOException(from + " is not a GGUF file");
        int version = in.getInt();
        if (version != 2 && version != 3) throw new IOException(from + ": GGUF version " + version + " is not 2 or 3");
        long nTensors = in.getLong();
        long nKv = in.getLong();
        int kvStart = in.position();
        long alignment = 32;
        for (long i = 0; i < nKv; i++) {
            String key = string(in);
            int type = in.getInt();
            if (key.equals(KEY)) throw new IOException(from + " has a " + KEY + " already");
            if (key.equals("general.alignment")) {
                alignment = Integer.toUnsignedLong(in.getInt(in.position()));
            }
            skipValue(in, type);
        }
        int kvEnd = in.position();
        for (long i = 0; i < nTensors; i++) {
            string(in);
            int dims = in.getInt();
            in.position(in.position() + 8 * dims + 4 + 8); // dims, type, offset (relative to the data section)
        }
        int infoEnd = in.position();
        long dataStart = align(infoEnd, alignment);

        byte[] key = KEY.getBytes(StandardCharsets.UTF_8);
        byte[] value = template.getBytes(StandardCharsets.UTF_8);
        int added = 8 + key.length + 4 + 8 + value.length;
        long newInfoEnd = infoEnd + added;
        long newDataStart = align(newInfoEnd, alignment);
        ByteBuffer head = ByteBuffer.allocate(Math.toIntExact(newDataStart)).order(ByteOrder.LITTLE_ENDIAN);
        head.putInt(MAGIC).putInt(version).putLong(nTensors).putLong(nKv + 1);
        head.put(in.duplicate().position(kvStart).limit(kvEnd));
        head.putLong(key.length).put(key).putInt(TYPE_STRING).putLong(value.length).put(value);
        head.put(in.duplicate().position(kvEnd).limit(infoEnd));
        // the rest of head is the zero padding
        try (FileChannel out = FileChannel.open(to, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            head.flip().limit(head.capacity());
            while (head.hasRemaining()) out.write(head);
            ByteBuffer data = in.duplicate().position(Math.toIntExact(dataStart));
            while (data.hasRemaining()) out.write(data);
        }
        return to;
    }

    private static long align(long n, long alignment) {
        return (n + alignment - 1) / alignment * alignment;
    }

    private static String string(ByteBuffer in) {
        byte[] b = new byte[Math.toIntExact(in.getLong())];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private static void skipValue(ByteBuffer in, int type) throws IOException {
        if (type == TYPE_STRING) {
            string(in);
        } else if (type == TYPE_ARRAY) {
            int elementType = in.getInt();
            long n = in.getLong();
            for (long i = 0; i < n; i++) skipValue(in, elementType);
        } else {
            in.position(in.position() + scalarSize(type));
        }
    }

    private static int scalarSize(int type) throws IOException {
        return switch (type) {
            case 0, 1, 7 -> 1;     // u8, i8, bool
            case 2, 3 -> 2;        // u16, i16
            case 4, 5, 6 -> 4;     // u32, i32, f32
            case 10, 11, 12 -> 8;  // u64, i64, f64
            default -> throw new IOException("unknown GGUF value type " + type);
        };
    }
}

package dev.catena.core.model;

import dev.catena.api.BlockRange;
import dev.catena.api.ModelFormatException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a model is, by content. Its <em>fingerprint</em> (the model id servers announce and clients
 * look up) is the SHA-256 of the GGUF header: the metadata and the tensor infos (names, shapes,
 * types, offsets), so a Q8_0 and an F16 copy under one file name differ, and renaming a file does
 * not. A block's digest is the SHA-256 over the names and bytes of its tensors ({@code blk.N.*});
 * a span's <em>weights digest</em> is the SHA-256 over its blocks' digests, so every block is read
 * once, whatever spans are asked for. Block digests are cached in the user's cache
 * ({@code ~/.cache/catena/digests}, keyed by the fingerprint, size and modification time).
 * The header is read here, not by a backend, so that every backend's servers agree on it.
 */
public final class ModelIdentity {
    private static final Map<String, ModelIdentity> CACHE = new ConcurrentHashMap<>();
    private static final Pattern BLOCK = Pattern.compile("^blk\\.(\\d+)\\.");
    private static final int GGUF_MAGIC = 0x46554747; // "GGUF" little-endian

    private final Path file;
    private final long size;
    private final long mtime;
    private final String fingerprint;
    /** Tensors of blocks, by name: absolute [start, end) byte ranges (end: the next tensor's start, or the file's end). */
    private final Map<String, long[]> blockTensors;
    /** Block digests, by block. */
    private final Map<Integer, byte[]> blockDigests = new ConcurrentHashMap<>();
    private volatile boolean diskCacheRead;

    private ModelIdentity(Path file, long size, long mtime, String fingerprint, Map<String, long[]> blockTensors) {
        this.file = file;
        this.size = size;
        this.mtime = mtime;
        this.fingerprint = fingerprint;
        this.blockTensors = blockTensors;
    }

    /**
     * The identity of the GGUF at {@code model}, read once per file version.
     *
     * @throws ModelFormatException when it is not a readable GGUF (v2 or v3)
     */
    public static ModelIdentity of(Path model) {
        Path abs = model.toAbsolutePath().normalize();
        long size;
        long mtime;
        try {
            size = Files.size(abs);
            mtime = Files.getLastModifiedTime(abs).toMillis();
        } catch (IOException e) {
            throw new ModelFormatException(abs, "cannot read it: " + e.getMessage());
        }
        return CACHE.compute(abs.toString(), (k, old) -> old != null && old.size == size && old.mtime == mtime ? old : read(abs, size, mtime));
    }

    /**
     * The model id for {@code model}: its fingerprint, or its file name when it is not a readable
     * GGUF (the backend then reports what is wrong with it when it loads it).
     */
    public static String idOf(Path model) {
        try {
            return of(model).fingerprint();
        } catch (ModelFormatException e) {
            return model.getFileName().toString();
        }
    }

    /** SHA-256 of the metadata and tensor infos, hex. */
    public String fingerprint() {
        return fingerprint;
    }

    /** Drops what this JVM holds about {@code model}, as if a new process read it (for tests). */
    static void forget(Path model) {
        CACHE.remove(model.toAbsolutePath().normalize().toString());
    }

    /** Where a block tensor's bytes lie in the file, [start, end); null for other tensors (for tests). */
    long[] tensorRange(String name) {
        long[] r = blockTensors.get(name);
        return r == null ? null : r.clone();
    }

    /** The file's name, for display. */
    public String name() {
        return file.getFileName().toString();
    }

    /** SHA-256 over the digests of blocks {@code [start, end)}, hex; each block is hashed once and cached. */
    public String weightsDigest(BlockRange blocks) {
        MessageDigest sha = sha256();
        for (int b = blocks.start(); b < blocks.end(); b++) sha.update(blockDigest(b));
        return HexFormat.of().formatHex(sha.digest());
    }

    private Path cacheFile() {
        return cacheDir().resolve("digests").resolve(fingerprint.substring(0, 32) + "-" + size + "-" + mtime + ".txt");
    }

    private byte[] blockDigest(int block) {
        byte[] d = blockDigests.get(block);
        if (d != null) return d;
        if (!diskCacheRead) readDiskCache();
        return blockDigests.computeIfAbsent(block, this::computeBlock);
    }

    /** Block digests computed by earlier runs ({@code block N HEX} lines). */
    private synchronized void readDiskCache() {
        if (diskCacheRead) return;
        try {
            Path f = cacheFile();
            if (Files.exists(f)) {
                for (String line : Files.readAllLines(f)) {
                    String[] p = line.split(" ");
                    if (p.length == 3 && p[0].equals("block") && p[2].length() == 64) {
                        blockDigests.putIfAbsent(Integer.parseInt(p[1]), HexFormat.of().parseHex(p[2]));
                    }
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            // an unreadable cache: computed again
        }
        diskCacheRead = true;
    }

    private byte[] computeBlock(int block) {
        MessageDigest sha = sha256();
        byte[] buf = new byte[1 << 20];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (var e : blockTensors.entrySet()) {
                Matcher m = BLOCK.matcher(e.getKey());
                if (!m.find() || Integer.parseInt(m.group(1)) != block) continue;
                sha.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                long pos = e.getValue()[0];
                long end = e.getValue()[1];
                while (pos < end) {
                    var bb = ByteBuffer.wrap(buf, 0, (int) Math.min(buf.length, end - pos));
                    int n = ch.read(bb, pos);
                    if (n < 0) throw new ModelFormatException(file, "truncated (tensor " + e.getKey() + ")");
                    sha.update(buf, 0, n);
                    pos += n;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file + ": " + e.getMessage(), e);
        }
        byte[] digest = sha.digest();
        try {
            Path f = cacheFile();
            Files.createDirectories(f.getParent());
            Files.writeString(f, "block " + block + " " + HexFormat.of().formatHex(digest) + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            System.getLogger(ModelIdentity.class.getName()).log(System.Logger.Level.DEBUG, "digest cache not written: " + e.getMessage());
        }
        return digest;
    }

    /** As the natives' cache: {@code catena.cache.dir}, {@code CATENA_CACHE_DIR}, else {@code XDG_CACHE_HOME/catena} or {@code ~/.cache/catena}. */
    private static Path cacheDir() {
        String dir = System.getProperty("catena.cache.dir", System.getenv("CATENA_CACHE_DIR"));
        if (dir != null && !dir.isBlank()) return Path.of(dir);
        String xdg = System.getenv("XDG_CACHE_HOME");
        return (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache")).resolve("catena");
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /** Reads the header: fingerprint over [0, end of tensor infos), and where each block tensor's bytes lie. */
    private static ModelIdentity read(Path file, long size, long mtime) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            // The header (vocabularies included) is a few MiB; mapped (up to 1 GiB), not read into the heap.
            MappedByteBuffer b = ch.map(FileChannel.MapMode.READ_ONLY, 0, Math.min(size, 1L << 30));
            b.order(ByteOrder.LITTLE_ENDIAN);
            if (size < 24 || b.getInt() != GGUF_MAGIC) throw new ModelFormatException(file, "not a GGUF file");
            int version = b.getInt();
            if (version < 2 || version > 3) throw new ModelFormatException(file, "GGUF version " + version + " is not supported");
            long nTensors = b.getLong();
            long nKv = b.getLong();
            long alignment = 32;
            for (long i = 0; i < nKv; i++) {
                String key = string(b);
                int type = b.getInt();
                if (key.equals("general.alignment") && type == 4) {
                    alignment = Integer.toUnsignedLong(b.getInt());
                } else {
                    skip(b, type);
                }
            }
            record Info(String name, long offset) {
            }
            List<Info> infos = new ArrayList<>();
            for (long i = 0; i < nTensors; i++) {
                String name = string(b);
                int dims = b.getInt();
                if (dims < 0 || dims > 8) throw new ModelFormatException(file, "tensor " + name + " has " + dims + " dimensions");
                b.position(b.position() + 8 * dims + 4); // shape, type
                infos.add(new Info(name, b.getLong()));
            }
            int headerEnd = b.position();
            long dataStart = (headerEnd + alignment - 1) / alignment * alignment;
            MessageDigest sha = sha256();
            sha.update(b.duplicate().position(0).limit(headerEnd));
            infos.sort(Comparator.comparingLong(Info::offset));
            Map<String, long[]> blockTensors = new TreeMap<>();
            for (int i = 0; i < infos.size(); i++) {
                long start = dataStart + infos.get(i).offset();
                long end = i + 1 < infos.size() ? dataStart + infos.get(i + 1).offset() : size;
                if (start > size || end > size || end < start) throw new ModelFormatException(file, "truncated or malformed");
                if (BLOCK.matcher(infos.get(i).name()).find()) blockTensors.put(infos.get(i).name(), new long[]{start, end});
            }
            return new ModelIdentity(file, size, mtime, HexFormat.of().formatHex(sha.digest()), blockTensors);
        } catch (java.nio.BufferUnderflowException | IllegalArgumentException e) {
            throw new ModelFormatException(file, "truncated or malformed (GGUF header)");
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read it: " + e.getMessage());
        }
    }

    private static String string(ByteBuffer b) {
        long n = b.getLong();
        if (n < 0 || n > b.remaining()) throw new IllegalArgumentException("string length " + n);
        byte[] s = new byte[(int) n];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    private static void skip(ByteBuffer b, int type) {
        switch (type) {
            case 0, 1, 7 -> b.position(b.position() + 1);
            case 2, 3 -> b.position(b.position() + 2);
            case 4, 5, 6 -> b.position(b.position() + 4);
            case 10, 11, 12 -> b.position(b.position() + 8);
            case 8 -> {
                long n = b.getLong();
                if (n < 0 || n > b.remaining()) throw new IllegalArgumentException("string length " + n);
                b.position(b.position() + (int) n);
            }
            case 9 -> {
                int elem = b.getInt();
                long count = b.getLong();
                if (count < 0) throw new IllegalArgumentException("array length " + count);
                for (long i = 0; i < count; i++) skip(b, elem);
            }
            default -> throw new IllegalArgumentException("value type " + type);
        }
    }
}

package dev.catena.ffm.testmodel;

import dev.catena.ffm.natives.LlamaNatives;
import dev.catena.ffm.natives.NativeCache;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Generated test models, cached on disk: {@code <cache root>/models/<name>-<hash>.gguf}, where the cache root is
 * {@link NativeCache#root()} ({@code -Dcatena.cache.dir}, {@code $CATENA_CACHE_DIR}, else ~/.cache/catena) and the
 * hash covers the spec, {@link TestModelWriter#VERSION}, the llama.cpp release and the vocabulary file's SHA-256.
 *
 * <p>A missing file is generated into a temporary file in the same directory and renamed into place atomically,
 * so a reader never sees half a file. Generation holds a file lock ({@code <file>.lock}): when two JVMs (or
 * threads) want the same model at once, one generates it and the other waits and uses it.
 */
public final class TestModelCache {
    /** The folder holding llama.cpp's vocabulary GGUFs (the build puts them in ffm-backend/target/llama-vocab). */
    public static final String VOCAB_DIR_PROPERTY = "catena.vocab.dir";

    private static final System.Logger LOG = System.getLogger(TestModelCache.class.getName());
    private static final Map<Path, Object> IN_JVM_LOCKS = new ConcurrentHashMap<>();
    private static final Map<String, String> VOCAB_HASHES = new ConcurrentHashMap<>();

    private TestModelCache() {
    }

    /** The cached file for {@code spec}, generated first if missing; vocabularies from {@link #vocabDir()}. */
    public static Path get(ModelSpec spec) {
        return get(spec, vocabDir(), directory());
    }

    /**
     * The cached file for {@code spec} in {@code cacheDir}, generated first if missing.
     *
     * @throws UncheckedIOException when the vocabulary cannot be read or the file cannot be written
     */
    public static Path get(ModelSpec spec, Path vocabDir, Path cacheDir) {
        try {
            Path vocabFile = vocabFile(vocabDir, spec.vocab());
            String fileName = fileName(spec, vocabFile);
            Path target = cacheDir.resolve(fileName);
            if (Files.isRegularFile(target)) {
                return target; // only ever appears whole, by rename
            }
            Files.createDirectories(cacheDir);
            // FileLock is per JVM, so threads of one JVM queue on a monitor first.
            synchronized (IN_JVM_LOCKS.computeIfAbsent(target.toAbsolutePath().normalize(), p -> new Object())) {
                try (FileChannel lockFile = FileChannel.open(cacheDir.resolve(fileName + ".lock"),
                        StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                     FileLock ignored = lockFile.lock()) {
                    if (Files.isRegularFile(target)) {
                        return target; // another JVM made it while we waited
                    }
                    deleteStaleTemporaries(cacheDir, fileName);
                    Path tmp = Files.createTempFile(cacheDir, fileName + ".", ".tmp");
                    try {
                        LOG.log(System.Logger.Level.INFO, "generating test model {0} ({1} layers, {2}) into {3}",
                                spec.name(), spec.nLayer(), spec.weightType(), target);
                        var written = TestModelWriter.write(spec, vocabFile, tmp);
                        LOG.log(System.Logger.Level.INFO, "generated {0}: {1} bytes in {2} ms", target, written.bytes(),
                                written.nanos() / 1_000_000);
                        readableByAll(tmp);
                        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    } finally {
                        Files.deleteIfExists(tmp);
                    }
                    return target;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot provide test model " + spec.name() + ": " + e.getMessage(), e);
        }
    }

    /** {@code <cache root>/models}. */
    public static Path directory() {
        return NativeCache.root().resolve("models");
    }

    /**
     * The folder named by {@code -Dcatena.vocab.dir}.
     *
     * @throws IllegalStateException when the property is unset or names no folder
     */
    public static Path vocabDir() {
        String dir = System.getProperty(VOCAB_DIR_PROPERTY);
        if (dir == null || dir.isBlank()) {
            throw new IllegalStateException("-D" + VOCAB_DIR_PROPERTY + " is not set: point it at a folder with llama.cpp's "
                    + "vocabulary GGUFs (ggml-vocab-*.gguf). The build puts them in ffm-backend/target/llama-vocab "
                    + "(scripts/fetch-llama.sh) and sets the property for the tests");
        }
        Path path = Path.of(dir).toAbsolutePath();
        if (!Files.isDirectory(path)) {
            throw new IllegalStateException("-D" + VOCAB_DIR_PROPERTY + " names " + path + ", which is not a folder");
        }
        return path;
    }

    /** {@code vocabDir/<vocab file>}, which must exist. */
    public static Path vocabFile(Path vocabDir, ModelSpec.Vocab vocab) throws IOException {
        Path file = vocabDir.resolve(vocab.fileName());
        if (!Files.isRegularFile(file)) {
            throw new IOException("vocabulary " + vocab.fileName() + " is missing from " + vocabDir
                    + " (-D" + VOCAB_DIR_PROPERTY + "; scripts/fetch-llama.sh provides it)");
        }
        return file;
    }

    /** {@code <name>-<16 hex digits>.gguf}; the digits hash everything the file's bytes depend on. */
    public static String fileName(ModelSpec spec, Path vocabFile) throws IOException {
        String key = spec.canonical() + ";generator=" + TestModelWriter.VERSION + ";llama.cpp=" + LlamaNatives.RELEASE
                + ";vocab-sha256=" + vocabHash(vocabFile);
        byte[] digest = sha256().digest(key.getBytes(StandardCharsets.UTF_8));
        return spec.name() + "-" + HexFormat.of().formatHex(digest, 0, 8) + ".gguf";
    }

    private static String vocabHash(Path vocabFile) throws IOException {
        String memo = vocabFile.toAbsolutePath() + "|" + Files.size(vocabFile) + "|" + Files.getLastModifiedTime(vocabFile);
        String cached = VOCAB_HASHES.get(memo);
        if (cached != null) {
            return cached;
        }
        MessageDigest digest = sha256();
        try (InputStream in = Files.newInputStream(vocabFile)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        String hash = HexFormat.of().formatHex(digest.digest());
        VOCAB_HASHES.put(memo, hash);
        return hash;
    }

    /** createTempFile makes the file private (0600); a cached model is as readable as any other file. */
    private static void readableByAll(Path file) throws IOException {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException notPosix) {
            // keep the default permissions
        }
    }

    /** Temporaries of {@code fileName} left by a JVM that died while generating (we hold its lock now). */
    private static void deleteStaleTemporaries(Path dir, String fileName) throws IOException {
        try (DirectoryStream<Path> stale = Files.newDirectoryStream(dir, glob(fileName) + ".*.tmp")) {
            for (Path p : stale) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static String glob(String literal) {
        return literal.replaceAll("([*?\\[\\]{}\\\\])", "\\\\$1");
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}

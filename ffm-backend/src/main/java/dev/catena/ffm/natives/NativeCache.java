package dev.catena.ffm.natives;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Extracts the native libraries bundled in the jar into a versioned cache directory, safely:
 * each JVM extracts into its own temporary directory, checks every SHA-256 and renames it into
 * place atomically, so concurrent JVMs never see a half-written library; the loser of a race
 * uses the winner's copy after checking it.
 */
public final class NativeCache {
    static final String MANIFEST = "SHA256SUMS";

    private NativeCache() {
    }

    /**
     * The cache root: -Dcatena.cache.dir, $CATENA_CACHE_DIR, $XDG_CACHE_HOME/catena, ~/.cache/catena.
     * Public for the other caches under it (e.g. the generated test models in {@code models/}).
     */
    public static Path root() {
        String dir = System.getProperty("catena.cache.dir");
        if (dir == null) {
            dir = System.getenv("CATENA_CACHE_DIR");
        }
        if (dir != null && !dir.isBlank()) {
            return Path.of(dir);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("catena");
    }

    /**
     * Ensures {@code root/natives/<release>-<manifest hash>} holds exactly the bundled files.
     *
     * @param resources the jar folder, e.g. {@code /dev/catena/ffm/natives/linux-x86_64/}
     * @return the directory, or null when the jar bundles no natives
     */
    static Path extract(Class<?> anchor, String resources, String release, Path root) throws IOException {
        byte[] manifestBytes;
        try (InputStream in = anchor.getResourceAsStream(resources + MANIFEST)) {
            if (in == null) {
                return null;
            }
            manifestBytes = in.readAllBytes();
        }
        Map<String, String> expected = parseManifest(new String(manifestBytes, StandardCharsets.UTF_8));
        String tag = HexFormat.of().formatHex(sha256().digest(manifestBytes), 0, 6);
        Path target = root.resolve("natives").resolve(release + "-" + tag);
        if (Files.isDirectory(target)) {
            if (matches(target, expected)) {
                return target;
            }
            deleteTree(target); // damaged (e.g. a file edited by hand): extract again
        }
        Files.createDirectories(target.getParent());
        Path staging = Files.createTempDirectory(target.getParent(), ".extract-");
        try {
            for (var entry : expected.entrySet()) {
                copyVerified(anchor, resources + entry.getKey(), staging.resolve(entry.getKey()), entry.getValue());
            }
            Files.write(staging.resolve(MANIFEST), manifestBytes);
            try {
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException raced) {
                // Another JVM renamed its copy into place first (Linux reports ENOTEMPTY): use it if it is whole.
                if (!Files.isDirectory(target) || !matches(target, expected)) {
                    throw raced;
                }
            }
            return target;
        } finally {
            deleteTree(staging); // no-op when the rename succeeded
        }
    }

    static Map<String, String> parseManifest(String text) {
        Map<String, String> files = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] parts = line.trim().split("\\s+", 2);
            if (parts.length != 2 || parts[0].length() != 64 || parts[1].contains("/")) {
                throw new IllegalStateException("malformed native manifest line: " + line);
            }
            files.put(parts[1], parts[0]);
        }
        return files;
    }

    private static boolean matches(Path dir, Map<String, String> expected) throws IOException {
        for (var entry : expected.entrySet()) {
            Path file = dir.resolve(entry.getKey());
            if (!Files.isRegularFile(file)) {
                return false;
            }
            try (InputStream in = Files.newInputStream(file)) {
                if (!entry.getValue().equals(hashOf(in))) {
                    return false;
                }
            }
        }
        return true;
    }

    private static void copyVerified(Class<?> anchor, String resource, Path to, String sha256) throws IOException {
        try (InputStream raw = anchor.getResourceAsStream(resource)) {
            if (raw == null) {
                throw new IOException("bundled native " + resource + " is listed in the manifest but missing from the jar");
            }
            var in = new DigestInputStream(raw, sha256());
            Files.copy(in, to);
            String actual = HexFormat.of().formatHex(in.getMessageDigest().digest());
            if (!actual.equals(sha256)) {
                throw new IOException("bundled native " + resource + " has SHA-256 " + actual + ", expected " + sha256);
            }
        }
    }

    private static String hashOf(InputStream in) throws IOException {
        var digest = sha256();
        byte[] buffer = new byte[1 << 16];
        for (int n; (n = in.read(buffer)) > 0; ) {
            digest.update(buffer, 0, n);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}

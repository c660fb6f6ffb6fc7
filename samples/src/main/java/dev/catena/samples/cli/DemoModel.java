package dev.catena.samples.cli;

import dev.catena.api.ModelFormatException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The demo model the repository ships ({@code models/stories260K.gguf}), used when a command is given
 * no {@code --model}. Its sha256 is checked first, so a damaged or missing copy is reported with the way
 * to restore it rather than as a puzzling model-format error.
 */
final class DemoModel {
    static final String FILE = "models/stories260K.gguf";
    static final String SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";
    private static final String RESTORE = "restore it with: git checkout models/";

    private DemoModel() {
    }

    /** {@code model} when given, else the checked demo model. */
    static Path orDefault(Path model) {
        return model != null ? model : checked(path());
    }

    /** Under the Catena checkout the launcher runs from ({@code catena.home}), else under the working directory. */
    static Path path() {
        return Path.of(System.getProperty("catena.home", ".")).resolve(FILE).toAbsolutePath().normalize();
    }

    static Path checked(Path file) {
        String actual;
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int r; (r = in.read(buf)) > 0; ) sha.update(buf, 0, r);
            actual = HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file, "the demo model is missing; " + RESTORE + " (or pass --model GGUF)");
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read the demo model (" + e.getMessage() + "); " + RESTORE);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        if (!actual.equals(SHA256)) {
            throw new ModelFormatException(file, "the demo model is damaged (sha256 " + actual + ", expected " + SHA256 + "); "
                    + RESTORE);
        }
        return file;
    }
}

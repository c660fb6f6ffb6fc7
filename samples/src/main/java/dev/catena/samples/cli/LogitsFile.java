package dev.catena.samples.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * The {@code --logits} file of {@code catena oracle} (and {@code catena generate}): raw little-endian
 * float32, no header, one row of {@code n_vocab} floats per generated token, row {@code i} holding the
 * logits that chose token {@code i}. So the file is {@code 4 * n_vocab * n} bytes; numpy reads it with
 * {@code np.fromfile(f, "<f4").reshape(-1, n_vocab)}.
 */
final class LogitsFile {
    private LogitsFile() {
    }

    /** Writes {@code rows} (all of the same length), replacing {@code file}. */
    static void write(Path file, List<float[]> rows) throws IOException {
        write(file, rows.toArray(float[][]::new));
    }

    /** Writes {@code rows} (all of the same length), replacing {@code file}. */
    static void write(Path file, float[][] rows) throws IOException {
        int width = rows.length == 0 ? 0 : rows[0].length;
        ByteBuffer buf = ByteBuffer.allocate(width * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (int r = 0; r < rows.length; r++) {
                if (rows[r].length != width) {
                    throw new IllegalArgumentException("row " + r + " has " + rows[r].length + " logits, row 0 " + width);
                }
                buf.clear();
                buf.asFloatBuffer().put(rows[r]);
                buf.limit(width * Float.BYTES);
                while (buf.hasRemaining()) {
                    out.write(buf);
                }
            }
        }
    }

    /**
     * Reads every row of {@code file}.
     *
     * @throws IOException when the file's size is not a whole number of rows of {@code nVocab} floats
     */
    static float[][] read(Path file, int nVocab) throws IOException {
        if (nVocab < 1) {
            throw new IllegalArgumentException("nVocab must be >= 1, got " + nVocab);
        }
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = in.size();
            long rowBytes = (long) nVocab * Float.BYTES;
            if (size % rowBytes != 0) {
                throw new IOException(file + ": " + size + " bytes is not a whole number of rows of " + nVocab
                        + " float32 logits (" + rowBytes + " bytes each)");
            }
            float[][] rows = new float[Math.toIntExact(size / rowBytes)][nVocab];
            ByteBuffer buf = ByteBuffer.allocate((int) rowBytes).order(ByteOrder.LITTLE_ENDIAN);
            for (float[] row : rows) {
                buf.clear();
                while (buf.hasRemaining()) {
                    if (in.read(buf) < 0) {
                        throw new IOException(file + ": ended early");
                    }
                }
                buf.flip();
                buf.asFloatBuffer().get(row);
            }
            return rows;
        }
    }
}

package dev.catena.ffm.testmodel;

import dev.catena.ffm.testmodel.ModelSpec.TensorSpec;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * The tensor data of a test model: random rows generated and quantized chunk by chunk, each chunk split across
 * a pool of threads, into two buffers sized for the largest chunk. Memory use is a few chunks, whatever the
 * model's size; the bytes do not depend on the thread count.
 */
final class TensorData implements AutoCloseable {
    /** Floats generated per chunk (16 MiB of F32), split across the threads. */
    private static final long CHUNK_FLOATS = 1L << 22;

    private final int threads;
    private final Arena buffers = Arena.ofShared();
    private final ExecutorService pool;
    private final Chunks chunks;

    TensorData(List<TensorSpec> tensors, int threads) {
        this.threads = threads;
        this.chunks = Chunks.allocate(buffers, tensors);
        this.pool = Executors.newFixedThreadPool(threads, r -> {
            Thread thread = new Thread(r, "catena-testmodel");
            thread.setDaemon(true);
            return thread;
        });
    }

    /** The two chunk buffers, sized for the largest chunk of any tensor; shared by the worker threads. */
    private record Chunks(MemorySegment src, MemorySegment dst) {
        static Chunks allocate(Arena arena, List<TensorSpec> tensors) {
            long srcBytes = 0, dstBytes = 0;
            for (TensorSpec t : tensors) {
                long rows = chunkRows(t);
                srcBytes = Math.max(srcBytes, rows * t.rowLength() * Float.BYTES);
                dstBytes = Math.max(dstBytes, rows * ggml_row_size(t.ggmlType(), t.rowLength()));
            }
            return new Chunks(arena.allocate(srcBytes, 64), arena.allocate(dstBytes, 64));
        }
    }

    private static long chunkRows(TensorSpec t) {
        return Math.max(1, Math.min(t.rows(), CHUNK_FLOATS / t.rowLength()));
    }

    /** Appends the data of {@code t}, whose values are a function of {@code seed}, its name and the row only. */
    void write(long seed, TensorSpec t, FileChannel channel) throws IOException {
        int type = t.ggmlType();
        boolean f32 = type == GGML_TYPE_F32();
        if (!f32 && ggml_quantize_requires_imatrix(type)) {
            throw new IllegalStateException(t.name() + ": " + typeName(type) + " needs an importance matrix");
        }
        long key = WeightRandom.tensorKey(seed, t.name());
        long ne0 = t.rowLength();
        long rowBytes = ggml_row_size(type, ne0);
        long rows = t.rows();
        long perChunk = chunkRows(t);
        MemorySegment out = f32 ? chunks.src() : chunks.dst();
        for (long r0 = 0; r0 < rows; r0 += perChunk) {
            long n = Math.min(perChunk, rows - r0);
            int parts = (int) Math.min(threads, n);
            if (parts == 1) {
                fillAndQuantize(t, key, r0, 0, n, chunks, rowBytes);
            } else {
                List<Future<?>> futures = new ArrayList<>(parts);
                for (int p = 0; p < parts; p++) {
                    long from = n * p / parts, to = n * (p + 1) / parts;
                    long first = r0;
                    futures.add(pool.submit(() -> fillAndQuantize(t, key, first, from, to, chunks, rowBytes)));
                }
                await(futures);
            }
            writeFully(channel, out.asSlice(0, n * rowBytes).asByteBuffer());
        }
    }

    /** Rows {@code chunkStart + [from, to)} of {@code t}: random floats into src, then (unless F32) into dst. */
    private static void fillAndQuantize(TensorSpec t, long key, long chunkStart, long from, long to, Chunks chunks,
                                        long rowBytes) {
        int ne0 = Math.toIntExact(t.rowLength());
        float[] row = new float[ne0];
        double mean = t.init().mean(), std = t.init().std();
        for (long r = from; r < to; r++) {
            WeightRandom.forRow(key, chunkStart + r).fill(row, ne0, mean, std);
            MemorySegment.copy(row, 0, chunks.src(), ValueLayout.JAVA_FLOAT, r * ne0 * Float.BYTES, ne0);
        }
        int type = t.ggmlType();
        if (type != GGML_TYPE_F32()) {
            // ggml_quantize_chunk offsets both src and dst by the start row itself.
            long written = ggml_quantize_chunk(type, chunks.src(), chunks.dst(), from * ne0, to - from, ne0,
                    MemorySegment.NULL);
            if (written != (to - from) * rowBytes) {
                throw new IllegalStateException("ggml_quantize_chunk(" + typeName(type) + ") of " + t.name() + " wrote "
                        + written + " bytes, expected " + (to - from) * rowBytes);
            }
        }
    }

    private static void await(List<Future<?>> futures) throws IOException {
        try {
            for (Future<?> f : futures) {
                f.get();
            }
        } catch (InterruptedException e) {
            futures.forEach(f -> f.cancel(true));
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while generating a test model", e);
        } catch (ExecutionException e) {
            futures.forEach(f -> f.cancel(true));
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Pads the file so that the data written so far, from {@code dataOffset}, fills whole {@code alignment}s. */
    void pad(FileChannel channel, long dataOffset, long alignment) throws IOException {
        long misalign = (channel.position() - dataOffset) % alignment;
        if (misalign != 0) {
            writeFully(channel, ByteBuffer.allocate((int) (alignment - misalign)));
        }
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    private static String typeName(int type) {
        return ggml_type_name(type).reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** Waits for the threads, then frees the buffers. */
    @Override
    public void close() {
        try {
            pool.close();
        } finally {
            buffers.close();
        }
    }
}

package dev.catena.ffm.testmodel;

import dev.catena.api.ModelFormatException;
import dev.catena.ffm.gguf.GgufFile;
import dev.catena.ffm.internal.ggml_init_params;
import dev.catena.ffm.natives.LlamaNatives;
import dev.catena.ffm.testmodel.ModelSpec.TensorSpec;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import static dev.catena.ffm.internal.ggml_h.*;

/**
 * Writes a {@link ModelSpec} as a GGUF file through ggml's own gguf writer: the metadata (hyper-parameters under
 * the keys llama.cpp reads, every {@code tokenizer.*} key of the vocabulary GGUF) and the tensor table come from
 * {@code gguf_write_to_file(only_meta)}; the tensor data is then appended from Java, chunk by chunk (random rows,
 * quantized with {@code ggml_quantize_chunk} on all cores), each tensor padded to the file's alignment exactly where
 * {@code gguf_get_tensor_offset} puts it. Memory use is a few chunks, whatever the model's size.
 *
 * <p>The bytes depend only on the spec, the vocabulary file, {@link #VERSION} and ggml's quantizers: not on the
 * thread count, nor on the chunking.
 */
public final class TestModelWriter {
    /**
     * Bump whenever the bytes written for a spec change (metadata, tensor order, distributions, random numbers):
     * it is part of {@link TestModelCache}'s key, so caches made by older generators are not reused.
     */
    public static final int VERSION = 1;

    private TestModelWriter() {
    }

    /** What was written. */
    public record Written(Path path, long bytes, long nVocab, int tensors, long nanos) {
    }

    /** Writes {@code spec} to {@code out} (replacing it) with all available processors. */
    public static Written write(ModelSpec spec, Path vocabFile, Path out) throws IOException {
        return write(spec, vocabFile, out, Runtime.getRuntime().availableProcessors());
    }

    public static Written write(ModelSpec spec, Path vocabFile, Path out, int threads) throws IOException {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException("GGUF tensor data is little-endian; this machine is not");
        }
        if (!Files.isRegularFile(vocabFile)) {
            throw new IOException("vocabulary file " + vocabFile + " for " + spec.vocab() + " does not exist");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be positive, not " + threads);
        }
        long start = System.nanoTime();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment vocab = readVocabulary(arena, vocabFile);
            long nVocab = tokenCount(arena, vocab, vocabFile);
            List<TensorSpec> tensors = spec.tensors(nVocab);

            MemorySegment gguf = gguf_init_empty().reinterpret(arena, c -> gguf_free(c));
            setMetadata(arena, gguf, spec, nVocab);
            copyTokenizer(arena, gguf, vocab);

            MemorySegment params = ggml_init_params.allocate(arena);
            ggml_init_params.mem_size(params, (tensors.size() + 1) * ggml_tensor_overhead());
            ggml_init_params.mem_buffer(params, MemorySegment.NULL);
            ggml_init_params.no_alloc(params, true);
            MemorySegment rawCtx = ggml_init(params);
            if (rawCtx.equals(MemorySegment.NULL)) {
                throw new IllegalStateException("ggml_init failed");
            }
            MemorySegment ctx = rawCtx.reinterpret(arena, c -> ggml_free(c));
            for (TensorSpec t : tensors) {
                long[] ne = t.ne();
                MemorySegment tensor = ne.length == 1
                        ? ggml_new_tensor_1d(ctx, t.ggmlType(), ne[0])
                        : ggml_new_tensor_2d(ctx, t.ggmlType(), ne[0], ne[1]);
                ggml_set_name(tensor, arena.allocateFrom(t.name()));
                gguf_add_tensor(gguf, tensor);
            }

            LlamaNatives.clearErrors();
            if (!gguf_write_to_file(gguf, arena.allocateFrom(out.toString()), true)) {
                throw new IOException("gguf_write_to_file(" + out + ", only_meta) failed: "
                        + LlamaNatives.takeErrors().orElse("no reason given"));
            }
            long dataOffset = Files.size(out);
            long expectedMeta = gguf_get_meta_size(gguf);
            if (dataOffset != expectedMeta) {
                throw new IllegalStateException("ggml wrote " + dataOffset + " bytes of metadata to " + out
                        + ", gguf_get_meta_size says " + expectedMeta);
            }
            long alignment = gguf_get_alignment(gguf);
            try (FileChannel channel = FileChannel.open(out, StandardOpenOption.WRITE);
                 TensorData data = new TensorData(tensors, threads)) {
                channel.position(dataOffset);
                for (int i = 0; i < tensors.size(); i++) {
                    TensorSpec t = tensors.get(i);
                    long at = channel.position() - dataOffset;
                    long expected = gguf_get_tensor_offset(gguf, i);
                    if (at != expected) {
                        throw new IllegalStateException("tensor " + t.name() + " would start at data offset " + at
                                + ", its table entry says " + expected);
                    }
                    data.write(spec.seed(), t, channel);
                    data.pad(channel, dataOffset, alignment);
                }
                channel.force(true);
                return new Written(out, channel.size(), nVocab, tensors.size(), System.nanoTime() - start);
            }
        }
    }

    // --- metadata ------------------------------------------------------------------------------------------

    private static MemorySegment readVocabulary(Arena arena, Path vocabFile) throws IOException {
        try {
            return GgufFile.openContext(vocabFile, arena);
        } catch (ModelFormatException e) {
            throw new IOException("cannot read vocabulary: " + e.getMessage(), e);
        }
    }

    private static long tokenCount(Arena arena, MemorySegment vocab, Path vocabFile) throws IOException {
        long id = gguf_find_key(vocab, arena.allocateFrom("tokenizer.ggml.tokens"));
        if (id < 0 || gguf_get_kv_type(vocab, id) != GGUF_TYPE_ARRAY() || gguf_get_arr_type(vocab, id) != GGUF_TYPE_STRING()) {
            throw new IOException(vocabFile + " has no tokenizer.ggml.tokens string array: not a vocabulary GGUF");
        }
        return gguf_get_arr_n(vocab, id);
    }

    private static void setMetadata(Arena arena, MemorySegment gguf, ModelSpec spec, long nVocab) {
        String arch = spec.architecture().ggufName();
        str(arena, gguf, "general.architecture", arch);
        str(arena, gguf, "general.name", spec.name());
        str(arena, gguf, "general.description", "random weights, not a trained model: Catena test model generator v"
                + VERSION + " (" + spec.canonical() + ")");
        u32(arena, gguf, arch + ".context_length", spec.nCtxTrain());
        u32(arena, gguf, arch + ".embedding_length", spec.nEmbd());
        u32(arena, gguf, arch + ".block_count", spec.nLayer());
        u32(arena, gguf, arch + ".feed_forward_length", spec.nFf());
        u32(arena, gguf, arch + ".attention.head_count", spec.nHead());
        u32(arena, gguf, arch + ".attention.head_count_kv", spec.nHeadKv());
        f32(arena, gguf, arch + ".rope.freq_base", spec.ropeFreqBase());
        f32(arena, gguf, arch + ".attention.layer_norm_rms_epsilon", spec.rmsEps());
        u32(arena, gguf, arch + ".rope.dimension_count", spec.headDim());
        u32(arena, gguf, arch + ".vocab_size", Math.toIntExact(nVocab));
        u32(arena, gguf, "general.file_type", spec.weightType().llamaFileType());
        u32(arena, gguf, "general.quantization_version", GGML_QNT_VERSION());
    }

    /** Every {@code tokenizer.*} key of the vocabulary, in its order (the other keys describe its source model). */
    private static void copyTokenizer(Arena arena, MemorySegment gguf, MemorySegment vocab) {
        List<String> drop = new ArrayList<>();
        for (long id = 0, n = gguf_get_n_kv(vocab); id < n; id++) {
            String key = gguf_get_key(vocab, id).reinterpret(Long.MAX_VALUE).getString(0);
            if (!key.startsWith("tokenizer.")) {
                drop.add(key);
            }
        }
        for (String key : drop) {
            gguf_remove_key(vocab, arena.allocateFrom(key));
        }
        gguf_set_kv(gguf, vocab);
    }

    private static void str(Arena arena, MemorySegment gguf, String key, String value) {
        gguf_set_val_str(gguf, arena.allocateFrom(key), arena.allocateFrom(value));
    }

    private static void u32(Arena arena, MemorySegment gguf, String key, int value) {
        gguf_set_val_u32(gguf, arena.allocateFrom(key), value);
    }

    private static void f32(Arena arena, MemorySegment gguf, String key, float value) {
        gguf_set_val_f32(gguf, arena.allocateFrom(key), value);
    }
}

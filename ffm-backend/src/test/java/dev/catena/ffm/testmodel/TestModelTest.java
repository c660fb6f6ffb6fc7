package dev.catena.ffm.testmodel;

import dev.catena.ffm.gguf.GgufArray;
import dev.catena.ffm.gguf.GgufFile;
import dev.catena.ffm.gguf.GgufTensor;
import dev.catena.ffm.testmodel.ModelSpec.Architecture;
import dev.catena.ffm.testmodel.ModelSpec.TensorSpec;
import dev.catena.ffm.testmodel.ModelSpec.Vocab;
import dev.catena.ffm.testmodel.ModelSpec.WeightType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static dev.catena.ffm.internal.ggml_h.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The generated test models: each small preset is written (or taken from the cache), read back with
 * {@link GgufFile}, loaded in llama.cpp itself and decoded once. From an empty cache the class takes about 15 s on two
 * cores. The Llama-3.2-1B-shaped presets (Q8_0: 1.3 GB, ~15 s; Q4_K: 0.7 GB, ~100 s to generate on two cores) run only
 * with {@code -Dcatena.test.big=true} (JUnit tag {@code big}):
 * {@code ./build -pl ffm-backend -am test -Dtest=TestModelTest -Dsurefire.failIfNoSpecifiedTests=false -Dcatena.test.big=true}.
 */
class TestModelTest {
    static final String PROMPT = "Once upon a time";

    static Stream<ModelSpec> smallPresets() {
        return ModelSpec.smallPresets().stream();
    }

    @ParameterizedTest
    @MethodSource("smallPresets")
    void smallPresetIsReadableAndLoadsInLlamaCpp(ModelSpec spec) throws IOException {
        checkPreset(spec);
    }

    @Tag("big")
    @EnabledIfSystemProperty(named = "catena.test.big", matches = "true")
    @ParameterizedTest
    @EnumSource(value = WeightType.class, names = {"Q8_0", "Q4_K"})
    void llama32OneBillionShapesLoadInLlamaCpp(WeightType type) throws IOException {
        checkPreset(ModelSpec.llama32_1B(type));
    }

    private static void checkPreset(ModelSpec spec) throws IOException {
        Path vocabFile = TestModelCache.vocabFile(TestModelCache.vocabDir(), spec.vocab());
        Path expected = TestModelCache.directory().resolve(TestModelCache.fileName(spec, vocabFile));
        boolean cached = Files.isRegularFile(expected);
        long t0 = System.nanoTime();
        Path model = TestModelCache.get(spec);
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(expected, model, "the cache's file name for " + spec.name());
        System.out.printf("test model %-22s %-5s %2d layers, n_embd %4d, %2d/%d heads, n_ff %4d, %-9s: %,13d bytes, %s%n",
                spec.name(), spec.architecture().ggufName(), spec.nLayer(), spec.nEmbd(), spec.nHead(), spec.nHeadKv(),
                spec.nFf(), spec.vocab(), Files.size(model),
                cached ? "from the cache" : String.format("generated in %.2f s (%d threads)", seconds,
                        Runtime.getRuntime().availableProcessors()));

        GgufFile vocab = GgufFile.read(vocabFile);
        long nVocab = ((GgufArray) vocab.metadata().get("tokenizer.ggml.tokens")).length();
        GgufFile file = GgufFile.read(model);
        checkMetadata(spec, file, vocab, nVocab);
        checkTensors(spec, file, nVocab);

        long t1 = System.nanoTime();
        LlamaCppCheck llama = LlamaCppCheck.run(model, PROMPT, 256);
        System.out.printf("test model %-22s llama.cpp load + decode of %d tokens: %.2f s%n", spec.name(),
                llama.prompt().length, (System.nanoTime() - t1) / 1e9);
        assertEquals(spec.nLayer(), llama.nLayer(), spec.name() + ": llama_model_n_layer");
        assertEquals(spec.nEmbd(), llama.nEmbd(), spec.name() + ": llama_model_n_embd");
        assertEquals(spec.nHead(), llama.nHead(), spec.name() + ": llama_model_n_head");
        assertEquals(spec.nHeadKv(), llama.nHeadKv(), spec.name() + ": llama_model_n_head_kv");
        assertEquals(nVocab, llama.nVocab(), spec.name() + ": llama_vocab_n_tokens vs the vocabulary's token count");
        assertTrue(llama.prompt().length >= 3, spec.name() + ": \"" + PROMPT + "\" tokenized to "
                + Arrays.toString(llama.prompt()));
        checkLogits(spec, llama.lastLogits());
    }

    private static void checkMetadata(ModelSpec spec, GgufFile file, GgufFile vocab, long nVocab) {
        String arch = spec.architecture().ggufName();
        String where = spec.name() + ": ";
        assertEquals(arch, file.string("general.architecture").orElse(null), where + "general.architecture");
        assertEquals(spec.name(), file.string("general.name").orElse(null), where + "general.name");
        Map<String, Long> ints = Map.of(
                "general.file_type", (long) spec.weightType().llamaFileType(),
                arch + ".block_count", (long) spec.nLayer(),
                arch + ".embedding_length", (long) spec.nEmbd(),
                arch + ".feed_forward_length", (long) spec.nFf(),
                arch + ".attention.head_count", (long) spec.nHead(),
                arch + ".attention.head_count_kv", (long) spec.nHeadKv(),
                arch + ".context_length", (long) spec.nCtxTrain(),
                arch + ".rope.dimension_count", (long) spec.headDim(),
                arch + ".vocab_size", nVocab);
        ints.forEach((key, value) -> assertEquals(value, file.integer(key).orElse(null), where + key));
        assertEquals(spec.ropeFreqBase(), file.metadata().get(arch + ".rope.freq_base"), where + "rope.freq_base");
        assertEquals(spec.rmsEps(), file.metadata().get(arch + ".attention.layer_norm_rms_epsilon"), where + "rms eps");

        List<String> tokenizerKeys = vocab.metadata().keySet().stream().filter(k -> k.startsWith("tokenizer.")).toList();
        assertTrue(tokenizerKeys.contains("tokenizer.ggml.tokens") && tokenizerKeys.contains("tokenizer.ggml.model"),
                "the vocabulary has tokenizer keys: " + tokenizerKeys);
        for (String key : tokenizerKeys) {
            assertEquals(vocab.metadata().get(key), file.metadata().get(key), where + key + " copied from " + spec.vocab());
        }
        assertEquals(tokenizerKeys, file.metadata().keySet().stream().filter(k -> k.startsWith("tokenizer.")).toList(),
                where + "exactly the vocabulary's tokenizer keys, in its order");
        assertEquals(nVocab, ((GgufArray) file.metadata().get("tokenizer.ggml.tokens")).length(), where + "token count");
        Set<String> foreign = file.metadata().keySet().stream()
                .filter(k -> !k.startsWith("general.") && !k.startsWith("tokenizer.") && !k.startsWith(arch + "."))
                .collect(Collectors.toSet());
        assertEquals(Set.of(), foreign, where + "no keys of other architectures (the vocabulary's own are dropped)");
    }

    private static void checkTensors(ModelSpec spec, GgufFile file, long nVocab) {
        List<TensorSpec> expected = spec.tensors(nVocab);
        List<GgufTensor> actual = file.tensors();
        assertEquals(expected.stream().map(TensorSpec::name).toList(), actual.stream().map(GgufTensor::name).toList(),
                spec.name() + ": tensor names in file order");
        for (int i = 0; i < expected.size(); i++) {
            TensorSpec e = expected.get(i);
            GgufTensor a = actual.get(i);
            long[] ne = Arrays.copyOf(e.ne(), 4);
            for (int d = e.ne().length; d < 4; d++) ne[d] = 1;
            assertArrayEquals(ne, a.ne(), spec.name() + ": shape of " + e.name());
            assertEquals(typeName(e.ggmlType()), a.typeName(), spec.name() + ": type of " + e.name());
            assertEquals(0, a.offset() % file.alignment(), spec.name() + ": " + e.name() + " aligned");
        }
        GgufTensor last = actual.getLast();
        assertEquals(file.dataOffset() + pad(last.offset() + last.bytes(), file.alignment()), file.fileSize(),
                spec.name() + ": file size = data offset + tensors, each padded to " + file.alignment());
        // Spec-level invariants every preset must keep.
        for (GgufTensor t : actual) {
            boolean vector = t.ne()[1] == 1;
            if (vector) {
                assertEquals("f32", t.typeName(), spec.name() + ": 1-D " + t.name() + " stays F32");
            }
        }
        assertEquals(spec.tiedOutput(), file.tensor("output.weight").isEmpty(), spec.name() + ": output.weight iff untied");
        assertEquals(spec.qkvBias(), file.tensor("blk.0.attn_q.bias").isPresent(), spec.name() + ": q bias iff qkvBias");
    }

    private static void checkLogits(ModelSpec spec, float[] logits) {
        double sum = 0, sumSq = 0;
        float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) {
            float v = logits[i];
            if (!Float.isFinite(v)) {
                fail(spec.name() + ": logit " + i + " of the last prompt token is " + v);
            }
            sum += v;
            sumSq += (double) v * v;
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        double mean = sum / logits.length, std = Math.sqrt(Math.max(0, sumSq / logits.length - mean * mean));
        System.out.printf("test model %-22s logits: mean %.3f, std %.3f, min %.3f, max %.3f%n", spec.name(), mean, std,
                min, max);
        assertTrue(std > 1e-3, spec.name() + ": the logits vary (std " + std + ")");
        assertTrue(max < 1e4 && min > -1e4, spec.name() + ": logits stay in a sane range, got " + min + ".." + max);
    }

    // --- determinism ------------------------------------------------------------------------------------------------

    /** Small enough to write three times in about a second; K-quants, biases and an untied output included. */
    static ModelSpec determinismSpec() {
        return new ModelSpec("determinism", Architecture.LLAMA, 2, 256, 4, 2, 512, 512, 10000f, 1e-5f,
                WeightType.Q4_K, Vocab.LLAMA_SPM, true, false, 7L);
    }

    @Test
    void sameSpecGivesIdenticalBytesWhateverTheThreadCount(@TempDir Path dir) throws IOException {
        ModelSpec spec = determinismSpec();
        Path vocab = TestModelCache.vocabFile(TestModelCache.vocabDir(), spec.vocab());
        Path a = dir.resolve("a.gguf"), b = dir.resolve("b.gguf");
        TestModelWriter.write(spec, vocab, a, 1);
        TestModelWriter.write(spec, vocab, b, 3);
        assertEquals(-1, Files.mismatch(a, b), "two writes of " + spec + " (1 and 3 threads) differ at byte "
                + Files.mismatch(a, b));
    }

    @Test
    void appendedDataIsWhatGgmlsOwnWriterWrites(@TempDir Path dir) throws IOException {
        // Read the generated file with its data into a ggml context, let ggml write it whole, compare the bytes.
        ModelSpec spec = determinismSpec().withWeightType(WeightType.Q6_K); // ffn_down (512) and embd (256) fit 256
        Path vocab = TestModelCache.vocabFile(TestModelCache.vocabDir(), spec.vocab());
        Path ours = dir.resolve("ours.gguf"), theirs = dir.resolve("ggml.gguf");
        TestModelWriter.write(spec, vocab, ours);
        dev.catena.ffm.GgufEdits.rewrite(ours, theirs);
        assertEquals(Files.size(theirs), Files.size(ours), "file size");
        assertEquals(-1, Files.mismatch(ours, theirs), "first differing byte");
    }

    @Test
    void anotherSeedChangesEveryTensorAndNothingElse(@TempDir Path dir) throws IOException {
        ModelSpec spec = determinismSpec();
        Path vocab = TestModelCache.vocabFile(TestModelCache.vocabDir(), spec.vocab());
        Path a = dir.resolve("a.gguf"), b = dir.resolve("b.gguf");
        TestModelWriter.write(spec, vocab, a);
        TestModelWriter.write(spec.withSeed(8L), vocab, b);
        GgufFile fa = GgufFile.read(a), fb = GgufFile.read(b);
        assertEquals(fa.tensors().toString(), fb.tensors().toString(), "the tensor tables agree");
        assertEquals(fa.metadata().keySet(), fb.metadata().keySet());
        for (String key : fa.metadata().keySet()) {
            if (!key.equals("general.description")) { // names the seed
                assertEquals(fa.metadata().get(key), fb.metadata().get(key), key);
            }
        }
        try (FileChannel ca = FileChannel.open(a); FileChannel cb = FileChannel.open(b)) {
            for (GgufTensor t : fa.tensors()) {
                ByteBuffer x = read(ca, fa.dataOffset() + t.offset(), t.bytes());
                ByteBuffer y = read(cb, fb.dataOffset() + t.offset(), t.bytes());
                assertNotEquals(x, y, t.name() + " is the same with seeds 7 and 8");
            }
        }
    }

    @Test
    void tensorsDoNotDependOnEachOther(@TempDir Path dir) throws IOException {
        // More layers must not change the tensors both models have: each is a function of (seed, name) only.
        ModelSpec two = determinismSpec().withWeightType(WeightType.Q8_0);
        ModelSpec three = new ModelSpec("determinism", Architecture.LLAMA, 3, 256, 4, 2, 512, 512, 10000f, 1e-5f,
                WeightType.Q8_0, Vocab.LLAMA_SPM, true, false, 7L);
        Path vocab = TestModelCache.vocabFile(TestModelCache.vocabDir(), two.vocab());
        Path a = dir.resolve("two.gguf"), b = dir.resolve("three.gguf");
        TestModelWriter.write(two, vocab, a);
        TestModelWriter.write(three, vocab, b);
        GgufFile fa = GgufFile.read(a), fb = GgufFile.read(b);
        try (FileChannel ca = FileChannel.open(a); FileChannel cb = FileChannel.open(b)) {
            for (GgufTensor t : fa.tensors()) {
                GgufTensor u = fb.tensor(t.name()).orElseThrow();
                assertEquals(read(ca, fa.dataOffset() + t.offset(), t.bytes()),
                        read(cb, fb.dataOffset() + u.offset(), u.bytes()), t.name() + " differs between 2 and 3 layers");
            }
        }
    }

    // --- cache ------------------------------------------------------------------------------------------------------

    @Test
    void cacheGeneratesOnceEvenWhenAskedConcurrently(@TempDir Path cacheDir) throws Exception {
        ModelSpec spec = determinismSpec().withName("cache-race").withWeightType(WeightType.Q8_0);
        Path vocabDir = TestModelCache.vocabDir();
        List<Callable<Path>> callers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            callers.add(() -> TestModelCache.get(spec, vocabDir, cacheDir));
        }
        List<Path> got = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(3)) {
            for (Future<Path> f : pool.invokeAll(callers)) {
                got.add(f.get());
            }
        }
        assertEquals(1, got.stream().distinct().count(), "every caller gets the same file: " + got);
        Path model = got.getFirst();
        assertTrue(model.getFileName().toString().matches("cache-race-[0-9a-f]{16}\\.gguf"), model.toString());
        var modified = Files.getLastModifiedTime(model);
        assertEquals(model, TestModelCache.get(spec, vocabDir, cacheDir));
        assertEquals(modified, Files.getLastModifiedTime(model), "a cached model is not written again");
        try (Stream<Path> files = Files.list(cacheDir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
            assertEquals(List.of(model.getFileName().toString(), model.getFileName() + ".lock"), names,
                    "one model and its lock file, no temporaries left");
        }
        GgufFile.read(model); // whole and readable

        Path other = TestModelCache.get(spec.withSeed(99L), vocabDir, cacheDir);
        assertNotEquals(model, other, "another seed is another file");
    }

    @Test
    void staleTemporariesAreCleanedUp(@TempDir Path cacheDir) throws IOException {
        ModelSpec spec = determinismSpec().withName("stale").withWeightType(WeightType.Q8_0);
        Path vocabDir = TestModelCache.vocabDir();
        String name = TestModelCache.fileName(spec, TestModelCache.vocabFile(vocabDir, spec.vocab()));
        Path stale = Files.writeString(cacheDir.resolve(name + ".12345.tmp"), "half a model from a JVM that died");
        Path model = TestModelCache.get(spec, vocabDir, cacheDir);
        assertFalse(Files.exists(stale), "the dead JVM's temporary is deleted");
        assertEquals(cacheDir.resolve(name), model);
    }

    @Test
    void missingVocabularyDirectoryIsNamed() {
        String saved = System.getProperty(TestModelCache.VOCAB_DIR_PROPERTY);
        try {
            System.clearProperty(TestModelCache.VOCAB_DIR_PROPERTY);
            var e = assertThrows(IllegalStateException.class, () -> TestModelCache.get(ModelSpec.oddLayers()));
            assertTrue(e.getMessage().contains("-Dcatena.vocab.dir"), e.getMessage());
        } finally {
            if (saved != null) System.setProperty(TestModelCache.VOCAB_DIR_PROPERTY, saved);
        }
    }

    // --- spec --------------------------------------------------------------------------------------------------------

    @Test
    void invalidSpecsSayWhatIsWrong() {
        ModelSpec ok = ModelSpec.tinyLlamaGqa();
        assertMessage("nEmbd (500) must be a multiple of nHead (8)", () -> new ModelSpec("x", Architecture.LLAMA, 4, 500, 8,
                2, 1024, 2048, 1e4f, 1e-5f, WeightType.F16, Vocab.LLAMA_SPM, false, true, 1));
        assertMessage("nHead (8) must be a multiple of nHeadKv (3)", () -> new ModelSpec("x", Architecture.LLAMA, 4, 512,
                8, 3, 1024, 2048, 1e4f, 1e-5f, WeightType.F16, Vocab.LLAMA_SPM, false, true, 1));
        assertMessage("head size nEmbd / nHead = 3 must be even", () -> new ModelSpec("x", Architecture.LLAMA, 4, 24, 8,
                8, 1024, 2048, 1e4f, 1e-5f, WeightType.F16, Vocab.LLAMA_SPM, false, true, 1));
        assertMessage("nLayer must be in 1..512, not 0", () -> new ModelSpec("x", Architecture.LLAMA, 0, 512, 8, 2, 1024,
                2048, 1e4f, 1e-5f, WeightType.F16, Vocab.LLAMA_SPM, false, true, 1));
        assertMessage("rmsEps must be positive", () -> new ModelSpec("x", Architecture.LLAMA, 1, 512, 8, 2, 1024, 2048,
                1e4f, 0f, WeightType.F16, Vocab.LLAMA_SPM, false, true, 1));
        assertMessage("name must match", () -> ok.withName("../evil"));
        assertMessage("vocab is missing", () -> new ModelSpec("x", Architecture.LLAMA, 1, 512, 8, 2, 1024, 2048, 1e4f,
                1e-5f, WeightType.F16, null, false, true, 1));
    }

    @Test
    void weightTypesMatchGgmlAndFallBackLikeLlamaQuantize() {
        for (WeightType w : WeightType.values()) {
            assertEquals(w.blockSize(), ggml_blck_size(w.ggmlType()), w + " block size");
            assertEquals(w.name().toLowerCase(), typeName(w.ggmlType()).toLowerCase(), w + " is ggml's type of that name");
        }
        assertEquals(GGML_TYPE_Q4_K(), ModelSpec.tensorType(WeightType.Q4_K, 512, 2));
        assertEquals(GGML_TYPE_Q5_0(), ModelSpec.tensorType(WeightType.Q4_K, 704, 2), "Q4_K -> Q5_0");
        assertEquals(GGML_TYPE_Q8_0(), ModelSpec.tensorType(WeightType.Q6_K, 704, 2), "Q6_K -> Q8_0");
        assertEquals(GGML_TYPE_F16(), ModelSpec.tensorType(WeightType.Q4_K, 200, 2), "no 32-block fits: F16");
        assertEquals(GGML_TYPE_F16(), ModelSpec.tensorType(WeightType.Q8_0, 200, 2), "no 32-block fits: F16");
        assertEquals(GGML_TYPE_BF16(), ModelSpec.tensorType(WeightType.BF16, 201, 2));
        assertEquals(GGML_TYPE_F32(), ModelSpec.tensorType(WeightType.Q8_0, 512, 1), "1-D tensors stay F32");

        // The presets keep their promises.
        assertTrue(ModelSpec.q4k().tensors(128256).stream().filter(t -> t.ne().length == 2)
                .allMatch(t -> t.ggmlType() == GGML_TYPE_Q4_K()), "q4k: every matrix is Q4_K, no fallback");
        assertEquals(GGML_TYPE_Q8_0(), ModelSpec.oddLayers().tensors(32000).stream()
                .filter(t -> t.name().equals("blk.0.ffn_down.weight")).findFirst().orElseThrow().ggmlType(),
                "odd-layers: ffn_down (rows of 704) falls back to Q8_0");
        assertEquals(64, ModelSpec.tinyLlamaGqa().headDim());
        assertEquals(4, ModelSpec.tinyLlamaGqa().nHead() / ModelSpec.tinyLlamaGqa().nHeadKv());
        assertEquals(128, ModelSpec.headDim128Q8().headDim());
        assertEquals(1, ModelSpec.oddLayers().nLayer() % 2);
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable e) {
        var thrown = assertThrows(IllegalArgumentException.class, e);
        assertTrue(thrown.getMessage().contains(part), "expected '" + part + "' in: " + thrown.getMessage());
    }

    private static ByteBuffer read(FileChannel channel, long position, long bytes) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(Math.toIntExact(bytes));
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new IOException("unexpected end of file");
            }
        }
        return buffer.flip();
    }

    private static long pad(long n, long alignment) {
        return (n + alignment - 1) / alignment * alignment;
    }

    private static String typeName(int type) {
        return ggml_type_name(type).reinterpret(Long.MAX_VALUE).getString(0);
    }
}

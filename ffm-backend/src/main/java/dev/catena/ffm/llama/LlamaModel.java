package dev.catena.ffm.llama;

import dev.catena.api.BackendUnavailableException;
import dev.catena.api.ModelFormatException;
import dev.catena.api.UnsupportedModelException;
import dev.catena.ffm.gguf.GgufFile;
import dev.catena.ffm.natives.LlamaNatives;
import dev.catena.ffm.natives.NativeHandle;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

import dev.catena.ffm.internal.*;

import static dev.catena.ffm.internal.ggml_h.GGML_BACKEND_DEVICE_TYPE_GPU;
import static dev.catena.ffm.internal.ggml_h.ggml_backend_dev_by_type;
import static dev.catena.ffm.internal.llama_h.*;

/**
 * A GGUF model loaded by llama.cpp ({@code llama_model_load_from_file}): the tokenizer only
 * ({@link #vocabOnly}) or the whole model, on the CPU or offloaded whole to a GPU ({@link #load}). Thread-safe to read; close it
 * once no context or vocabulary call is using it (use after close is an {@link IllegalStateException}).
 */
public final class LlamaModel implements AutoCloseable {
    private final Path path;
    private final boolean vocabOnly;
    private final int threads;
    private final String device;
    private final NativeHandle handle;
    private final LlamaVocab vocab;

    private LlamaModel(Path path, boolean vocabOnly, int threads, String device, MemorySegment raw) {
        this.path = path;
        this.vocabOnly = vocabOnly;
        this.threads = threads;
        this.device = device;
        this.handle = new NativeHandle("model " + path.getFileName(), raw, m -> llama_model_free(m));
        this.vocab = new LlamaVocab(this, llama_model_get_vocab(raw));
    }

    /**
     * Loads only {@code path}'s vocabulary: enough to tokenize and detokenize, no weights.
     *
     * @throws ModelFormatException      when the file is missing, not GGUF, truncated or malformed
     * @throws UnsupportedModelException when llama.cpp does not know its architecture or vocabulary
     */
    public static LlamaModel vocabOnly(Path path) {
        return open(path, true, 1, "cpu", WeightLoading.DEFAULT);
    }

    /**
     * Loads the whole model for the CPU: no device offload, otherwise llama.cpp's default parameters
     * (mmap, and CPU weight repacking through the extra buffer types), so its numerics are llama.cpp's.
     *
     * @param threads the threads contexts made from this model use (>= 1); loading itself ignores it
     */
    public static LlamaModel load(Path path, int threads) {
        return load(path, threads, "cpu");
    }

    /**
     * Loads the whole model on {@code device}: {@code cpu} is {@link #load(Path, int)}; {@code cuda} offloads
     * every layer (and the output) to the first GPU ggml loaded, as llama.cpp's {@code -ngl all} on that one
     * device, and fails when there is none; {@code auto} is {@code cuda} when a GPU is present, else {@code cpu}.
     * Everything else is llama.cpp's default.
     *
     * @param threads the threads contexts made from this model use (>= 1); loading itself ignores it
     * @throws BackendUnavailableException for {@code cuda} when ggml loaded no GPU device
     */
    public static LlamaModel load(Path path, int threads, String device) {
        return load(path, threads, device, WeightLoading.DEFAULT);
    }

    /** {@link #load(Path, int, String)} with the weights held as {@code weights} says. */
    public static LlamaModel load(Path path, int threads, String device, WeightLoading weights) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (!"cpu".equals(device) && !"cuda".equals(device) && !"auto".equals(device)) {
            throw new IllegalArgumentException("device must be cpu, cuda or auto, got '" + device + "'");
        }
        return open(path, false, threads, device, java.util.Objects.requireNonNull(weights, "weights"));
    }

    private static LlamaModel open(Path path, boolean vocabOnly, int threads, String device, WeightLoading weights) {
        GgufFile.read(path); // clear errors for missing, non-GGUF and truncated files
        LlamaNatives.lookup();
        Init.done();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = llama_model_default_params(arena);
            MemorySegment gpu = "cpu".equals(device) ? MemorySegment.NULL : ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_GPU());
            if ("cuda".equals(device) && gpu.equals(MemorySegment.NULL)) {
                throw dev.catena.ffm.ggml.GgmlBackend.noGpuDevice();
            }
            if (gpu.equals(MemorySegment.NULL)) {
                // An empty, NULL-terminated device list: no GPU offload (llama.cpp's "--device none").
                llama_model_params.devices(params, arena.allocate(ValueLayout.ADDRESS));
                llama_model_params.n_gpu_layers(params, 0);
            } else {
                // That one GPU, NULL-terminated, and every layer on it (n_gpu_layers < 0 means all).
                MemorySegment devices = arena.allocate(ValueLayout.ADDRESS, 2);
                devices.setAtIndex(ValueLayout.ADDRESS, 0, gpu);
                llama_model_params.devices(params, devices);
                llama_model_params.n_gpu_layers(params, -1);
            }
            llama_model_params.vocab_only(params, vocabOnly);
            if (weights == WeightLoading.IN_MEMORY) {
                llama_model_params.load_mode(params, LLAMA_LOAD_MODE_NONE());
            }
            LlamaNatives.clearErrors();
            MemorySegment raw = llama_model_load_from_file(arena.allocateFrom(path.toString()), params);
            if (raw.equals(MemorySegment.NULL)) {
                throw loadFailure(path, LlamaNatives.takeErrors().orElse("llama.cpp gave no reason"));
            }
            return new LlamaModel(path, vocabOnly, threads, gpu.equals(MemorySegment.NULL) ? "cpu" : "cuda", raw);
        }
    }

    /** Maps llama.cpp's loader error to Catena's: what it cannot run, or what is wrong with the file. */
    static RuntimeException loadFailure(Path path, String why) {
        String lower = why.toLowerCase(Locale.ROOT);
        String message = "llama.cpp cannot load it: " + why;
        if (lower.contains("unknown model architecture") || lower.contains("unsupported")
                || lower.contains("unknown tokenizer") || lower.contains("unknown pre-tokenizer")) {
            return new UnsupportedModelException(path, message);
        }
        return new ModelFormatException(path, message);
    }

    /** The model's native pointer; throws when closed. */
    public MemorySegment handle() {
        return handle.get();
    }

    public LlamaVocab vocab() {
        handle.get();
        return vocab;
    }

    public Path path() {
        return path;
    }

    public boolean isVocabOnly() {
        return vocabOnly;
    }

    /** Where the weights are: {@code cpu}, or {@code cuda} when offloaded to a GPU. */
    public String device() {
        return device;
    }

    /** The thread count given to {@link #load}; 1 for a vocabulary-only model. */
    public int threads() {
        return threads;
    }

    public int nLayer() {
        return llama_model_n_layer(handle());
    }

    public int nEmbd() {
        return llama_model_n_embd(handle());
    }

    public int nCtxTrain() {
        return llama_model_n_ctx_train(handle());
    }

    /**
     * The model's default chat template ({@code tokenizer.chat_template}, through {@code llama_model_chat_template}),
     * or empty when the file has none.
     */
    public Optional<String> chatTemplate() {
        MemorySegment t = llama_model_chat_template(handle(), MemorySegment.NULL);
        if (t.equals(MemorySegment.NULL)) {
            return Optional.empty();
        }
        // A C string owned by the model, valid while it is open: copied out at once.
        return Optional.of(t.reinterpret(Long.MAX_VALUE).getString(0));
    }

    /** llama.cpp's one-line description, e.g. {@code llama ?B all F32}. */
    public String description() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(256);
            llama_model_desc(handle(), buf, buf.byteSize());
            return buf.getString(0);
        }
    }

    @Override
    public void close() {
        handle.close();
    }

    @Override
    public String toString() {
        return "LlamaModel[" + path + (vocabOnly ? ", vocab only" : "") + (handle.isClosed() ? ", closed" : "") + "]";
    }

    /** {@code llama_backend_init} once per JVM (it initialises ggml's timer and F16 tables); also before quantizing. */
    static final class Init {
        static {
            llama_backend_init();
        }

        static void done() {
            // class initialisation does the work, exactly once
        }
    }
}

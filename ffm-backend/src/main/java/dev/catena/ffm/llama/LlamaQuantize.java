package dev.catena.ffm.llama;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

import dev.catena.ffm.internal.llama_model_quantize_params;

import static dev.catena.ffm.internal.llama_h.*;

/**
 * llama.cpp's own quantizer ({@code llama_model_quantize}, what {@code llama-quantize} runs): writes a copy
 * of a GGUF model with its weights in another type, metadata and tensor names kept. Tests use it to make a
 * real twin of a model (e.g. a Q8_0 copy of an F32 one under the same file name).
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp ... dev.catena.ffm.llama.LlamaQuantize IN.gguf OUT.gguf q8_0</pre>
 */
public final class LlamaQuantize {
    /** The types this accepts, as llama-quantize names them, to their {@code llama_ftype}. */
    static final Map<String, Integer> TYPES = Map.of("q8_0", LLAMA_FTYPE_MOSTLY_Q8_0(), "f16", LLAMA_FTYPE_MOSTLY_F16(),
            "q4_0", LLAMA_FTYPE_MOSTLY_Q4_0());

    private LlamaQuantize() {
    }

    /**
     * Writes {@code out}: {@code in} with its weights quantized to {@code type} (q8_0, f16 or q4_0), as
     * llama-quantize does (tensors whose rows do not fit the type fall back as it decides).
     *
     * @throws IllegalArgumentException for an unknown type, a missing input or an output that exists
     * @throws IllegalStateException    when llama.cpp reports a failure
     */
    public static void quantize(Path in, Path out, String type, int threads) {
        Integer ftype = TYPES.get(type.toLowerCase(Locale.ROOT));
        if (ftype == null) throw new IllegalArgumentException("unknown type '" + type + "'; known: " + String.join(", ", TYPES.keySet()));
        if (!Files.isRegularFile(in)) throw new IllegalArgumentException("no model file at " + in);
        if (Files.exists(out)) throw new IllegalArgumentException(out + " exists; not overwriting it");
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        LlamaModel.Init.done();
        try (Arena arena = Arena.ofConfined()) {
            var params = llama_model_quantize_default_params(arena);
            llama_model_quantize_params.nthread(params, threads);
            llama_model_quantize_params.ftype(params, ftype);
            int rc = llama_model_quantize(arena.allocateFrom(in.toString()), arena.allocateFrom(out.toString()), params);
            if (rc != 0) throw new IllegalStateException("llama_model_quantize(" + in + " -> " + out + ", " + type + ") failed with " + rc);
        }
    }

    public static void main(String[] args) {
        if (args.length != 3) {
            System.err.println("usage: LlamaQuantize IN.gguf OUT.gguf TYPE (" + String.join(", ", TYPES.keySet()) + ")");
            System.exit(2);
        }
        try {
            quantize(Path.of(args[0]), Path.of(args[1]), args[2], 1);
        } catch (IllegalArgumentException | IllegalStateException e) {
            System.err.println(e.getMessage());
            System.exit(1);
        }
    }
}

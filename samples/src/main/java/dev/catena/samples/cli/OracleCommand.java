package dev.catena.samples.cli;

import dev.catena.api.spi.Generation;
import dev.catena.api.spi.ReferenceDecoder;
import dev.catena.api.spi.ReferenceOptions;
import dev.catena.api.spi.ReferenceOptions.FlashAttention;
import dev.catena.api.spi.SessionOptions.KvType;
import dev.catena.core.Catena;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code catena oracle}: greedy generation by the backend's own engine (llama.cpp's llama_decode), the reference output. */
@Command(name = "oracle", mixinStandardHelpOptions = true,
        description = {"Greedy generation by the backend's reference decoder: llama.cpp's own llama_decode over the whole "
                + "model on the CPU. Its output is what Catena's distributed generation must match.",
                "BOS is added as llama.cpp's defaults do; exactly N tokens are generated (no stop at end of text)."})
final class OracleCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "GGUF", description = "Model file (default: the demo model, models/stories260K.gguf).")
    Path model;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "Prompt text.")
    String prompt;

    @Option(names = "-n", paramLabel = "N", defaultValue = "64", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
    int n;

    @Option(names = "--json", description = "Print {\"tokens\":[generated ids],\"text\":\"prompt + continuation\"} on one line.")
    boolean json;

    @Option(names = "--logits", paramLabel = "FILE",
            description = "Write each step's logits: raw little-endian float32, one row of n_vocab per generated token.")
    Path logits;

    @Option(names = "--threads", paramLabel = "T", description = "CPU threads (default: half the processors, 1 to 4); results do not depend on it.")
    Integer threads;

    @Option(names = "--ctx", paramLabel = "N_CTX", defaultValue = "512", description = "Context length (default: ${DEFAULT-VALUE}).")
    int nCtx;

    @Option(names = "--flash-attn", paramLabel = "auto|on|off", defaultValue = "auto",
            description = "llama.cpp's flash attention setting (default: ${DEFAULT-VALUE}, which is on for the CPU).")
    String flashAttention;

    @Option(names = "--kv-type", paramLabel = "f16|f32", defaultValue = "f16",
            description = "KV cache element type (default: ${DEFAULT-VALUE}). With flash attention on, llama.cpp casts an F32 cache to F16.")
    String kvType;

    @Option(names = "--device", defaultValue = "cpu",
            description = "cpu (no offload), cuda (every layer on the first GPU) or auto (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--backend", paramLabel = "NAME", description = "Span backend to use (default: the preferred available one).")
    String backendName;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        model = DemoModel.orDefault(model);
        ReferenceOptions options = options();
        PrintWriter out = spec.commandLine().getOut();
        try (ReferenceDecoder reference = Catena.spanBackend(backendName).openReference(model, options)) {
            int[] promptTokens = reference.tokenize(prompt, true);
            long start = System.nanoTime();
            Generation g = reference.generateGreedy(promptTokens, n, logits != null);
            double seconds = (System.nanoTime() - start) / 1e9;
            int[] all = Arrays.copyOf(promptTokens, promptTokens.length + g.tokens().length);
            System.arraycopy(g.tokens(), 0, all, promptTokens.length, g.tokens().length);
            String text = reference.detokenize(all);
            if (logits != null) {
                LogitsFile.write(logits, g.logits());
            }
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("tokens", Arrays.stream(g.tokens()).boxed().toList());
                o.put("text", text);
                out.println(Json.write(o));
            } else {
                out.println(text);
                out.println();
                out.printf("%d tokens in %.3f s%n", g.tokens().length, seconds);
            }
        }
        out.flush();
        return 0;
    }

    private ReferenceOptions options() {
        if (n < 1) {
            throw bad("-n must be >= 1, got " + n);
        }
        if (nCtx < 1) {
            throw bad("--ctx must be >= 1, got " + nCtx);
        }
        // Half the processors, 1 to 4: ggml's threads spin, so oversubscribing a busy machine is very slow.
        int t = threads != null ? threads : Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() / 2));
        if (t < 1) {
            throw bad("--threads must be >= 1, got " + t);
        }
        FlashAttention fa = switch (flashAttention.toLowerCase(java.util.Locale.ROOT)) {
            case "auto" -> FlashAttention.AUTO;
            case "on" -> FlashAttention.ON;
            case "off" -> FlashAttention.OFF;
            default -> throw bad("--flash-attn must be auto, on or off, got '" + flashAttention + "'");
        };
        KvType kv = switch (kvType.toLowerCase(java.util.Locale.ROOT)) {
            case "f16" -> KvType.F16;
            case "f32" -> KvType.F32;
            default -> throw bad("--kv-type must be f16 or f32, got '" + kvType + "'");
        };
        if (!java.util.Set.of("cpu", "cuda", "auto").contains(device)) {
            throw bad("--device must be cpu, cuda or auto, got '" + device + "'");
        }
        return new ReferenceOptions(t, nCtx, fa, kv, device);
    }

    private CommandLine.ParameterException bad(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}

package dev.catena.samples.cli;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.SamplingParams;
import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.local.LocalInference;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code catena generate --local}: Catena's own path in one process, the head plus one span or a chain of spans. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generates text with Catena's own span compute.",
                "--local runs the client head and the spans (--split) in this process."})
final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--local", required = true, description = "Run every span in this process (required until the swarm lands).")
    boolean local;

    @Option(names = "--model", required = true, paramLabel = "GGUF")
    Path model;

    @Option(names = "--prompt", required = true)
    String prompt;

    @Option(names = "-n", defaultValue = "64", description = "Tokens to generate (default ${DEFAULT-VALUE}); stops early at end of text.")
    int n;

    @Option(names = "--split", paramLabel = "A:B,...", description = "Spans that chain to cover the model, e.g. 0:2,2:5 (default: one span).")
    String split;

    @Option(names = "--greedy", description = "Argmax decoding (ties to the lowest id); ignores the sampling options.")
    boolean greedy;

    @Option(names = "--temp", defaultValue = "0.8") float temperature;
    @Option(names = "--top-k", defaultValue = "40") int topK;
    @Option(names = "--top-p", defaultValue = "0.95") float topP;
    @Option(names = "--min-p", defaultValue = "0.05") float minP;
    @Option(names = "--repeat-penalty", defaultValue = "1.0") float repeatPenalty;
    @Option(names = "--repeat-last-n", defaultValue = "64") int repeatLastN;
    @Option(names = "--seed", defaultValue = "42") long seed;

    @Option(names = "--threads", defaultValue = "1", description = "CPU threads per span (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or auto (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--ctx", defaultValue = "512", description = "KV cache length per span session (default ${DEFAULT-VALUE}).")
    int ctx;

    @Option(names = "--kv-type", defaultValue = "f16",
            description = "KV cache type: f16 (with flash attention, as llama.cpp on the CPU) or f32 (plain attention).")
    String kv;

    @Option(names = "--ignore-eos", description = "Generate exactly N tokens, through end-of-text tokens (as ./catena oracle does).")
    boolean ignoreEos;

    @Option(names = "--json", description = "Print {\"tokens\":[...],\"text\":\"...\",\"tokens_per_s\":...}.")
    boolean json;

    @Option(names = "--logits", paramLabel = "FILE", description = "Also write every step's logits (raw little-endian float32, one row per token).")
    Path logitsFile;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (n < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-n must be >= 1, got " + n);
        }
        var kvType = switch (kv) {
            case "f16" -> SessionOptions.KvType.F16;
            case "f32" -> SessionOptions.KvType.F32;
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--kv-type must be f16 or f32, got " + kv);
        };
        List<BlockRange> ranges;
        try {
            ranges = split == null ? List.of() : BlockRange.parseList(split);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--split: " + e.getMessage());
        }
        SamplingParams sampling = greedy ? SamplingParams.greedyDecoding()
                : new SamplingParams(false, temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed);
        PrintWriter out = spec.commandLine().getOut();
        try (var inference = LocalInference.open(Catena.spanBackend(null), model, ranges, new SpanOptions(threads, device))) {
            var g = inference.generate(prompt, n, sampling, new SessionOptions(ctx, kvType), !ignoreEos, logitsFile != null,
                    t -> { });
            if (logitsFile != null) {
                LogitsFile.write(logitsFile, g.logits());
            }
            if (json) {
                var o = new LinkedHashMap<String, Object>();
                o.put("tokens", Arrays.stream(g.tokens()).boxed().toList());
                o.put("text", g.text());
                o.put("tokens_per_s", Math.round(g.tokensPerSecond() * 10) / 10.0);
                out.println(Json.write(o));
            } else {
                out.println(g.text());
                out.printf("%n%d tokens, prefill %.3f s, %.1f tokens/s%n", g.tokens().length, g.prefillSeconds(),
                        g.tokensPerSecond());
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        out.flush();
        return 0;
    }
}

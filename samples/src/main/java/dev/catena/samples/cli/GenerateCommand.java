package dev.catena.samples.cli;

import dev.catena.api.BlockRange;
import dev.catena.core.Catena;
import dev.catena.core.CatenaClient;
import dev.catena.core.Device;
import dev.catena.core.Generation;
import dev.catena.core.GenerationRequest;
import dev.catena.core.Generator;
import dev.catena.core.KvType;
import dev.catena.core.Mode;
import dev.catena.core.WireFormat;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code catena generate}: Catena's own path, with the blocks either in this process ({@code --local})
 * or on running servers ({@code --peers}).
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generates text with Catena's own span compute.",
                "--local runs the client head and the spans (--split) in this process;",
                "--peers runs the client head here and the blocks on those servers."})
final class GenerateCommand implements Callable<Integer> {

    static final class Where {
        @Option(names = "--local", required = true, description = "Run every span in this process.")
        boolean local;

        @Option(names = "--peers", required = true, paramLabel = "HOST:PORT,...", split = ",",
                description = "Servers whose spans chain to cover the model, in any order.")
        List<String> peers;

        @Option(names = "--directory", required = true, paramLabel = "FILE",
                description = "The servers a directory file lists (./catena server --directory FILE announces there).")
        Path directory;
    }

    @CommandLine.ArgGroup(exclusive = true, multiplicity = "1")
    Where where;

    @Option(names = "--mode", defaultValue = "push", description = "With --peers: push or relay (default ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--wire", defaultValue = "f32", description = "With --peers: hidden states on the wire as f32, f16 or bf16.")
    String wire;

    @Option(names = "--model", paramLabel = "GGUF", description = "Model file (default: the demo model, models/stories260K.gguf).")
    Path model;

    @Option(names = "--prompt", required = true)
    String prompt;

    @Option(names = "-n", defaultValue = "64", description = "Tokens to generate (default ${DEFAULT-VALUE}); stops early at end of text.")
    int n;

    @Option(names = "--split", paramLabel = "A:B,...", description = "Spans that chain to cover the model, e.g. 0:2,2:5 (default: one span).")
    String split;

    @CommandLine.Mixin
    SamplingOptions sampling;

    @CommandLine.Mixin
    FailoverOptions failover;

    @Option(names = "--threads", defaultValue = "1", description = "CPU threads per span (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or auto (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--ctx", description = "KV cache length per session (default: the prompt plus -n, within the model's trained context).")
    Integer ctx;

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

    private CatenaClient remote() {
        var m = switch (mode) {
            case "push" -> Mode.PUSH;
            case "relay" -> Mode.RELAY;
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--mode must be push or relay, got " + mode);
        };
        var wireFormat = switch (wire) {
            case "f32" -> WireFormat.F32;
            case "f16" -> WireFormat.F16;
            case "bf16" -> WireFormat.BF16;
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--wire must be f32, f16 or bf16, got " + wire);
        };
        var builder = Catena.client(model).mode(m).wire(wireFormat).threads(threads).device(device())
                .requestTimeout(Duration.ofSeconds(30));
        if (ctx != null) builder.context(ctx);
        else builder.autoContext();
        failover.apply(builder, spec.commandLine());
        var b = where.directory != null ? builder.directory(where.directory) : builder.peers(where.peers);
        return Progress.during("loading " + model.getFileName(), b::build);
    }

    private Generator local(List<BlockRange> ranges, KvType kvType) {
        var builder = Catena.local(model).split(ranges).threads(threads).device(device()).kvType(kvType);
        var b = ctx != null ? builder.context(ctx) : builder.autoContext();
        return Progress.during("loading " + model.getFileName(), b::build);
    }

    private Device device() {
        return switch (device) {
            case "cpu" -> Device.CPU;
            case "cuda" -> Device.CUDA;
            case "auto" -> Device.AUTO;
            default -> throw new IllegalArgumentException("device must be cpu, cuda or auto, got '" + device + "'");
        };
    }

    @Override
    public Integer call() throws IOException {
        model = DemoModel.orDefault(model);
        if (n < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-n must be >= 1, got " + n);
        }
        var kvType = switch (kv) {
            case "f16" -> KvType.F16;
            case "f32" -> KvType.F32;
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--kv-type must be f16 or f32, got " + kv);
        };
        List<BlockRange> ranges;
        try {
            ranges = split == null ? List.of() : BlockRange.parseList(split);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--split: " + e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        try {
            var builder = GenerationRequest.builder(prompt).maxTokens(n).stopAtEndOfText(!ignoreEos);
            if (logitsFile != null) builder.keepLogits();
            var request = sampling.apply(builder).build();
            Generation g;
            String text;
            try (Generator generator = where.local ? local(ranges, kvType) : remote()) {
                g = generator.generate(request);
                List<Integer> all = new ArrayList<>(g.promptTokens());
                all.addAll(g.tokens());
                text = generator.detokenize(all); // prompt and continuation, as detokenized together
            }
            if (logitsFile != null) {
                LogitsFile.write(logitsFile, g.logits());
            }
            if (json) {
                var o = new LinkedHashMap<String, Object>();
                o.put("tokens", g.tokens());
                o.put("text", text);
                o.put("tokens_per_s", Math.round(g.stats().tokensPerSecond() * 10) / 10.0);
                out.println(Json.write(o));
            } else {
                out.println(text);
                out.printf("%n%d tokens, prefill %.3f s, %.1f tokens/s%n", g.tokens().size(), g.stats().prefillSeconds(),
                        g.stats().tokensPerSecond());
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        out.flush();
        return 0;
    }
}

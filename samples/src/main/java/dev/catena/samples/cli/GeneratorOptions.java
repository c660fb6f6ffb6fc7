package dev.catena.samples.cli;

import dev.catena.api.BlockRange;
import dev.catena.core.Catena;
import dev.catena.core.Device;
import dev.catena.core.Generator;
import dev.catena.core.GeneratorBuilder;
import dev.catena.core.KvType;
import dev.catena.core.Mode;
import dev.catena.core.WireFormat;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Where a command's {@link Generator} runs and how (picocli mixin of {@code generate} and
 * {@code serve}): every span in this process ({@code --local}), or the blocks on servers named by
 * {@code --peers} or a {@code --directory}, with the client's mode, wire, failover and KV options.
 */
final class GeneratorOptions {

    static final class Where {
        @Option(names = "--local", required = true, description = "Run every span in this process.")
        boolean local;

        @Option(names = "--peers", required = true, paramLabel = "HOST:PORT,...", split = ",",
                description = "Servers whose spans chain to cover the model, in any order.")
        List<String> peers;

        @Option(names = "--directory", required = true, paramLabel = "URI",
                description = "The servers a directory lists: etcd://HOST:PORT[,HOST:PORT...], a file path or file: URI (./catena server --directory announces there).")
        String directory;
    }

    @CommandLine.ArgGroup(exclusive = true, multiplicity = "1")
    Where where;

    @Option(names = "--model", paramLabel = "GGUF", description = "Model file (default: the demo model, models/stories260K.gguf).")
    Path model;

    @Option(names = "--split", paramLabel = "A:B,...", description = "With --local: spans that chain to cover the model, e.g. 0:2,2:5 (default: one span).")
    String split;

    @Option(names = "--mode", defaultValue = "push", description = "With --peers or --directory: push, relay or ring (default ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--ring-window", defaultValue = "8", paramLabel = "STEPS",
            description = "With --mode ring: steps the servers may run beyond what the client verified, 1..64 (default ${DEFAULT-VALUE}).")
    int ringWindow;

    @Option(names = "--wire", defaultValue = "f32", description = "With --peers or --directory: hidden states on the wire as f32, f16 or bf16.")
    String wire;

    @CommandLine.Mixin
    FailoverOptions failover;

    @CommandLine.Mixin
    ClientSecurityOptions security;

    @Option(names = "--threads", defaultValue = "1", description = "CPU threads per span (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or auto (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--ctx", description = "KV cache length per session (default: the prompt plus the tokens asked for, within the model's trained context).")
    Integer ctx;

    @Option(names = "--kv-type", defaultValue = "f16",
            description = "With --local: KV cache type f16 (with flash attention, as llama.cpp on the CPU) or f32 (plain attention).")
    String kv;

    /** The model file: {@code --model}, or the checked demo model. */
    Path model() {
        if (model == null) model = DemoModel.orDefault(null);
        return model;
    }

    /**
     * Loads the generator (a progress bar on a terminal meanwhile).
     *
     * @throws CommandLine.ParameterException for a value out of range
     */
    Generator build(CommandLine commandLine) {
        return build(commandLine, null);
    }

    /**
     * Loads the generator, rendering chats with {@code chatTemplate} (a name or a template's text; null: the model's).
     *
     * @throws CommandLine.ParameterException for a value out of range, or a chat template the backend does not know
     */
    Generator build(CommandLine commandLine, String chatTemplate) {
        Path file = model();
        try {
            if (where.local) {
                if (security.tls || security.evidence.proofs != null) {
                    throw new CommandLine.ParameterException(commandLine, "--tls and --proofs are for --peers or --directory");
                }
                var b = Catena.local(file).split(ranges(commandLine)).threads(threads).device(device()).kvType(kvType(commandLine));
                return Progress.during("loading " + file.getFileName(), context(b).chatTemplate(chatTemplate)::build);
            }
            var b = Catena.client(file).mode(mode(commandLine)).wire(wire(commandLine)).threads(threads).device(device())
                    .requestTimeout(Duration.ofSeconds(30)).ringWindow(ringWindow);
            failover.apply(context(b).chatTemplate(chatTemplate), commandLine);
            security.apply(b, commandLine);
            var located = where.directory != null ? b.directory(directoryUri(where.directory)) : b.peers(where.peers);
            return Progress.during("loading " + file.getFileName(), located::build);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(commandLine, e.getMessage());
        }
    }

    private <B extends GeneratorBuilder<B>> B context(B b) {
        return ctx != null ? b.context(ctx) : b.autoContext();
    }

    private List<BlockRange> ranges(CommandLine commandLine) {
        try {
            return split == null ? List.of() : BlockRange.parseList(split);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(commandLine, "--split: " + e.getMessage());
        }
    }

    private Mode mode(CommandLine commandLine) {
        return mode(mode, commandLine);
    }

    /** The {@code --mode} option's value: push, relay or ring; else a usage error. */
    static Mode mode(String mode, CommandLine commandLine) {
        return switch (mode) {
            case "push" -> Mode.PUSH;
            case "relay" -> Mode.RELAY;
            case "ring" -> Mode.RING;
            default -> throw new CommandLine.ParameterException(commandLine, "--mode must be push, relay or ring, got " + mode);
        };
    }

    private WireFormat wire(CommandLine commandLine) {
        return switch (wire) {
            case "f32" -> WireFormat.F32;
            case "f16" -> WireFormat.F16;
            case "bf16" -> WireFormat.BF16;
            default -> throw new CommandLine.ParameterException(commandLine, "--wire must be f32, f16 or bf16, got " + wire);
        };
    }

    private KvType kvType(CommandLine commandLine) {
        return switch (kv) {
            case "f16" -> KvType.F16;
            case "f32" -> KvType.F32;
            default -> throw new CommandLine.ParameterException(commandLine, "--kv-type must be f16 or f32, got " + kv);
        };
    }

    private Device device() {
        return switch (device) {
            case "cpu" -> Device.CPU;
            case "cuda" -> Device.CUDA;
            case "auto" -> Device.AUTO;
            default -> throw new IllegalArgumentException("device must be cpu, cuda or auto, got '" + device + "'");
        };
    }

    /** A {@code file:} (or other) URI as given, or a plain path. */
    static URI directoryUri(String s) {
        return s.contains(":") && !s.startsWith("/") ? URI.create(s) : Path.of(s).toAbsolutePath().toUri();
    }
}

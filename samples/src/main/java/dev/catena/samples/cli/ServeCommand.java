package dev.catena.samples.cli;

import dev.catena.api.BlockRange;
import dev.catena.core.Catena;
import dev.catena.core.Device;
import dev.catena.core.Generator;
import dev.catena.openai.OpenAiServer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code catena serve}: an OpenAI-compatible HTTP API over the blocks in this process or on a swarm. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serves an OpenAI-compatible HTTP API (/v1/models, /v1/completions, /v1/chat/completions).",
                "--local runs the spans (--split) in this process; --peers or --directory generate on servers."})
final class ServeCommand implements Callable<Integer> {

    static final class Where {
        @Option(names = "--local", required = true, description = "Run every span in this process.")
        boolean local;

        @Option(names = "--peers", required = true, paramLabel = "HOST:PORT,...", split = ",",
                description = "Servers whose spans chain to cover the model, in any order.")
        List<String> peers;

        @Option(names = "--directory", required = true, paramLabel = "URI",
                description = "The servers a directory lists (a file path or file: URI, as ./catena server --directory writes).")
        String directory;
    }

    @CommandLine.ArgGroup(exclusive = true, multiplicity = "1")
    Where where;

    @Option(names = "--model", paramLabel = "GGUF", description = "Model file (default: the demo model, models/stories260K.gguf).")
    Path model;

    @Option(names = "--model-name", paramLabel = "NAME",
            description = "The model id the API lists and requests name (default: the file name without .gguf).")
    String modelName;

    @Option(names = "--split", paramLabel = "A:B,...", description = "With --local: spans that chain to cover the model (default: one span).")
    String split;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port to listen on; 0 picks a free one (default ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--max-concurrent", defaultValue = "4",
            description = "Generations at once; more requests are answered 429 (default ${DEFAULT-VALUE}).")
    int maxConcurrent;

    @Option(names = "--api-key", paramLabel = "KEY", description = "Require Authorization: Bearer KEY on every request.")
    String apiKey;

    @CommandLine.Mixin
    FailoverOptions failover;

    @Option(names = "--threads", defaultValue = "1", description = "CPU threads per span (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--ctx", defaultValue = "512", description = "KV cache length per session (default ${DEFAULT-VALUE}).")
    int ctx;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        model = DemoModel.orDefault(model);
        if (maxConcurrent < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--max-concurrent must be >= 1");
        if (port < 0 || port > 65535) throw new CommandLine.ParameterException(spec.commandLine(), "--port must be in [0, 65535]");
        List<BlockRange> ranges;
        try {
            ranges = split == null ? List.of() : BlockRange.parseList(split);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--split: " + e.getMessage());
        }
        String name = modelName != null ? modelName : model.getFileName().toString().replaceFirst("\\.gguf$", "");
        PrintWriter out = spec.commandLine().getOut();
        Generator generator;
        try {
            if (where.local) {
                generator = Catena.local(model).split(ranges).threads(threads).device(Device.CPU).context(ctx).build();
            } else {
                var b = Catena.client(model).threads(threads).context(ctx).requestTimeout(Duration.ofSeconds(30));
                failover.apply(b, spec.commandLine());
                generator = (where.directory != null ? b.directory(directoryUri(where.directory)) : b.peers(where.peers)).build();
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        OpenAiServer server;
        try {
            server = OpenAiServer.builder(generator).model(name).host(host).port(port).maxConcurrent(maxConcurrent).apiKey(apiKey)
                    .start();
        } catch (IllegalStateException e) {
            generator.close();
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        var stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            generator.close();
            stopped.countDown();
        }, "catena-serve-stop"));
        String shown = host.contains(":") ? "[" + host + "]" : host;
        out.println("catena serve listening on http://" + shown + ":" + server.port() + " (model " + name + ")");
        out.flush();
        stopped.await();
        return 0;
    }

    private static URI directoryUri(String s) {
        return s.contains(":") && !s.startsWith("/") ? URI.create(s) : Path.of(s).toAbsolutePath().toUri();
    }
}

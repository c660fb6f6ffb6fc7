package dev.catena.samples.cli;

import dev.catena.core.Generator;
import dev.catena.openai.OpenAiServer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code catena serve}: an OpenAI-compatible HTTP API over the blocks in this process or on a swarm. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serves an OpenAI-compatible HTTP API (/v1/models, /v1/completions, /v1/chat/completions),",
                "/health, /metrics (Prometheus) and a live page of the swarm at /.",
                "--local runs the spans (--split) in this process; --peers or --directory generate on servers."})
final class ServeCommand implements Callable<Integer> {

    @CommandLine.Mixin
    GeneratorOptions generator;

    @Option(names = "--model-name", paramLabel = "NAME",
            description = "The model id the API lists and requests name (default: the file name without .gguf).")
    String modelName;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port to listen on; 0 picks a free one (default ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--max-concurrent", defaultValue = "4",
            description = "Generations at once; more requests are answered 429 (default ${DEFAULT-VALUE}).")
    int maxConcurrent;

    @Option(names = "--api-key", paramLabel = "KEY", description = "Require Authorization: Bearer KEY on every request.")
    String apiKey;

    @Option(names = "--stream-interval-ms", paramLabel = "MS", defaultValue = "" + OpenAiServer.DEFAULT_STREAM_INTERVAL_MS,
            description = {"How long a streamed token may wait to share its write with the next ones (default ${DEFAULT-VALUE}; 0",
                    "writes each token as soon as it is computed). Tokens of a stream that come faster go out together once an",
                    "interval; the first, the last and any after a quiet interval go out at once. Up to 1000."})
    double streamIntervalMs;

    @Option(names = "--chat-template", paramLabel = "NAME|FILE",
            description = {"Render chat messages with this template instead of the GGUF's tokenizer.chat_template (for a model with",
                    "none or a wrong one): a name llama.cpp knows (chatml, llama2, llama3, mistral-v7, phi3, gemma, ...) or a file",
                    "holding a template's text, which llama.cpp recognises by its markers. Without it: the GGUF's, else the",
                    "fallback (\"Role: content\" lines, then \"Assistant:\")."})
    String chatTemplate;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        if (maxConcurrent < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--max-concurrent must be >= 1");
        if (port < 0 || port > 65535) throw new CommandLine.ParameterException(spec.commandLine(), "--port must be in [0, 65535]");
        if (!(streamIntervalMs >= 0 && streamIntervalMs <= 1000)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--stream-interval-ms must be in [0, 1000], got " + streamIntervalMs);
        }
        Path model = generator.model();
        String name = modelName != null ? modelName : model.getFileName().toString().replaceFirst("\\.gguf$", "");
        PrintWriter out = spec.commandLine().getOut();
        Generator loaded = generator.build(spec.commandLine(), chatTemplate(spec.commandLine()));
        OpenAiServer server;
        try {
            server = OpenAiServer.builder(loaded).model(name).host(host).port(port).maxConcurrent(maxConcurrent).apiKey(apiKey)
                    .streamInterval(Duration.ofNanos(Math.round(streamIntervalMs * 1e6))).start();
        } catch (IllegalStateException e) {
            loaded.close();
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        if (chatTemplate != null) out.println("chat template: " + chatTemplate);
        var stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            loaded.close();
            stopped.countDown();
        }, "catena-serve-stop"));
        String shown = host.contains(":") ? "[" + host + "]" : host;
        out.println("catena serve listening on http://" + shown + ":" + server.port() + " (model " + name + ")");
        out.flush();
        stopped.await();
        return 0;
    }

    /** {@code --chat-template}: a file's text when it names a file, else the name itself; null when not given. */
    private String chatTemplate(CommandLine commandLine) {
        if (chatTemplate == null) return null;
        Path file = Path.of(chatTemplate);
        if (!Files.isRegularFile(file)) return chatTemplate;
        try {
            return Files.readString(file);
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new CommandLine.ParameterException(commandLine, "--chat-template: cannot read " + file + ": " + e.getMessage());
        }
    }
}

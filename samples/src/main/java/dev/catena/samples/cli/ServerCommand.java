package dev.catena.samples.cli;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.client.SwarmInference;
import dev.catena.core.directory.FileDirectory;
import dev.catena.core.server.SwarmServer;
import dev.catena.transport.spi.TransportConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code catena server}: hosts blocks of a model until stopped (Ctrl-C). */
@Command(name = "server", mixinStandardHelpOptions = true, description = "Hosts a span of a model's blocks for swarm clients.")
final class ServerCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "GGUF", description = "Model file (default: the demo model, models/stories260K.gguf).") Path model;
    @Option(names = "--blocks", required = true, paramLabel = "A:B", description = "Blocks [A, B) to host.") String blocks;
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default ${DEFAULT-VALUE}).") String host;
    @Option(names = "--port", defaultValue = "0", description = "Port (default: any free one, printed at start).") int port;
    @Option(names = "--threads", defaultValue = "1") int threads;
    @Option(names = "--device", defaultValue = "cpu") String device;
    @Option(names = "--kv-budget-mb", defaultValue = "1024", description = "KV cache memory for all sessions (default ${DEFAULT-VALUE} MiB).")
    long kvBudgetMb;
    @Option(names = "--idle-timeout-s", defaultValue = "300") long idleSeconds;
    @Option(names = "--transport", description = "Transport provider (default: the preferred available one).") String transportName;
    @Option(names = "--directory", paramLabel = "FILE", description = "Announce this server in a directory file (withdrawn at stop).")
    Path directoryFile;
    @Option(names = "--announce-every-s", defaultValue = "5", description = "Refresh the directory record this often (default ${DEFAULT-VALUE} s).")
    long announceSeconds;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        model = DemoModel.orDefault(model);
        BlockRange range;
        try {
            range = BlockRange.parseList(blocks).getFirst();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--blocks: " + e.getMessage());
        }
        if (announceSeconds < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--announce-every-s must be >= 1");
        }
        var transport = Catena.transport(transportName).create(TransportConfig.defaults());
        var config = new SwarmServer.Config(model, SwarmInference.modelId(model), range, new SpanOptions(threads, device),
                host + ":" + port, kvBudgetMb << 20, Duration.ofSeconds(idleSeconds), Math.max(1, threads));
        var server = SwarmServer.start(config, Catena.spanBackend(null), transport);
        var directory = directoryFile == null ? null : new FileDirectory(directoryFile);
        var refresher = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("catena-announce").factory());
        if (directory != null) {
            directory.announce(server.record());
            // Refreshed, so clients route by the throughput and free KV it has now.
            refresher.scheduleAtFixedRate(() -> {
                try {
                    directory.announce(server.record());
                } catch (RuntimeException e) {
                    System.getLogger("catena.server").log(System.Logger.Level.WARNING, "directory refresh failed: " + e.getMessage());
                }
            }, announceSeconds, announceSeconds, java.util.concurrent.TimeUnit.SECONDS);
        }
        var stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            refresher.shutdownNow();
            if (directory != null) directory.withdraw(server.address());
            server.close();
            transport.close();
            stopped.countDown();
        }));
        spec.commandLine().getOut().printf("catena server listening on %s, blocks [%d, %d) of %s%n", server.address(),
                range.start(), range.end(), model.getFileName());
        spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }
}

package dev.catena.samples.cli;

import dev.catena.api.BlockRange;
import dev.catena.core.Catena;
import dev.catena.core.CatenaServer;
import dev.catena.core.Device;
import dev.catena.core.Identity;
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
    @Option(names = "--blocks", paramLabel = "A:B", description = "Blocks [A, B) to host (or --num-blocks).") String blocks;
    @Option(names = "--num-blocks", paramLabel = "N",
            description = "Host N blocks chosen from the swarm (--directory): the span that most raises the weakest block, moving when blocks lose their servers.")
    Integer numBlocks;
    @Option(names = "--rebalance-every-s", defaultValue = "30", description = "With --num-blocks: check whether to move this often (default ${DEFAULT-VALUE} s, plus up to half at random).")
    long rebalanceSeconds;
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default ${DEFAULT-VALUE}).") String host;
    @Option(names = "--port", defaultValue = "0", description = "Port (default: any free one, printed at start).") int port;
    @Option(names = "--threads", defaultValue = "1") int threads;
    @Option(names = "--device", defaultValue = "cpu") String device;
    @Option(names = "--kv-budget-mb", defaultValue = "1024", description = "KV cache memory for all sessions (default ${DEFAULT-VALUE} MiB).")
    long kvBudgetMb;
    @Option(names = "--idle-timeout-s", defaultValue = "300") long idleSeconds;
    @Option(names = "--max-batch", defaultValue = "1", paramLabel = "N",
            description = "Continuous batching: run the decode steps of up to N sessions that are ready as one step (default ${DEFAULT-VALUE}: off).")
    int maxBatch;
    @Option(names = "--batch-wait-ms", defaultValue = "0", paramLabel = "MS",
            description = "With --max-batch: a batch not yet full waits this long for more sessions' steps (default ${DEFAULT-VALUE}: none).")
    long batchWaitMs;
    @Option(names = "--batch-prefill-rows", defaultValue = "256", paramLabel = "ROWS",
            description = "With --max-batch: prompt tokens of other sessions a batch of decode steps may take along (default ${DEFAULT-VALUE}; 0: prompts run alone).")
    int batchPrefillRows;
    @Option(names = "--inbound-budget-mb", defaultValue = "256",
            description = "Bytes of partly received frames all connections may hold; past it the largest holder is closed (default ${DEFAULT-VALUE} MiB, at least 65).")
    long inboundBudgetMb;
    @Option(names = "--read-timeout-s", defaultValue = "10", description = "Hello and each frame must arrive within this (default ${DEFAULT-VALUE} s).")
    long readTimeoutSeconds;
    @Option(names = "--max-connections", defaultValue = "4096", description = "Connections open at once (default ${DEFAULT-VALUE}; 0: no cap).")
    int maxConnections;
    @Option(names = "--max-connections-per-address", defaultValue = "64",
            description = "Connections open at once from one remote host (default ${DEFAULT-VALUE}; 0: no cap).")
    int maxConnectionsPerAddress;
    @Option(names = "--transport", description = "Transport provider (default: the preferred available one).") String transportName;
    @Option(names = "--directory", paramLabel = "URI",
            description = "Announce this server in a directory (withdrawn at stop): etcd://HOST:PORT[,HOST:PORT...], a file path or file: URI.")
    String directory;
    @Option(names = "--lease-ttl-s", defaultValue = "10",
            description = "A killed server's record lasts this long in etcd (default ${DEFAULT-VALUE} s).")
    long leaseTtlSeconds;
    @Option(names = "--announce-every-s", defaultValue = "5", description = "Refresh the directory record this often (default ${DEFAULT-VALUE} s).")
    long announceSeconds;

    @Option(names = "--identity", paramLabel = "DIR",
            description = "This server's identity (./catena keygen --out DIR); default: a fresh one for this run only, said at start.")
    Path identityDir;
    @Option(names = "--tls", description = "TLS 1.3 on every connection, clients' and pushes to peers (the certificate of --identity).")
    boolean tls;
    @Option(names = "--trust", paramLabel = "FILE", split = ",", arity = "1..*",
            description = "With --tls: certificates whose keys are trusted: clients' with --require-client-cert, peers' for pushes.")
    java.util.List<Path> trust = java.util.List.of();
    @Option(names = "--require-client-cert", description = "With --tls and --trust: mutual TLS, only clients with a trusted certificate connect.")
    boolean requireClientCert;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        model = DemoModel.orDefault(model);
        if ((blocks == null) == (numBlocks == null)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "give --blocks A:B or --num-blocks N (with --directory)");
        }
        if (numBlocks != null && (numBlocks < 1 || directory == null)) {
            throw new CommandLine.ParameterException(spec.commandLine(), numBlocks < 1 ? "--num-blocks must be >= 1"
                    : "--num-blocks needs a --directory to choose its blocks from");
        }
        if (rebalanceSeconds < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--rebalance-every-s must be >= 1");
        BlockRange range = null;
        try {
            if (blocks != null) range = BlockRange.parseList(blocks).getFirst();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--blocks: " + e.getMessage());
        }
        if (announceSeconds < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--announce-every-s must be >= 1");
        }
        var builder = Catena.server(model).listen(host, port).threads(threads)
                .kvBudget(kvBudgetMb << 20).idleTimeout(Duration.ofSeconds(idleSeconds)).transport(transportName)
                .announceEvery(Duration.ofSeconds(announceSeconds));
        try {
            builder.inboundBudget(inboundBudgetMb << 20).readTimeout(Duration.ofSeconds(readTimeoutSeconds))
                    .connectionCaps(maxConnections, maxConnectionsPerAddress).batching(maxBatch, Duration.ofMillis(batchWaitMs), batchPrefillRows);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        if (range != null) {
            builder.blocks(range.start(), range.end());
        } else {
            builder.numBlocks(numBlocks).rebalanceEvery(Duration.ofSeconds(rebalanceSeconds));
        }
        switch (device) {
            case "cpu" -> builder.device(Device.CPU);
            case "cuda" -> builder.device(Device.CUDA);
            case "auto" -> builder.device(Device.AUTO);
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--device must be cpu, cuda or auto, got '" + device + "'");
        }
        if (directory != null) { // announced, refreshed, and withdrawn at stop
            try {
                builder.directory(GeneratorOptions.directoryUri(directory)).leaseTtl(Duration.ofSeconds(leaseTtlSeconds));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--directory: " + e.getMessage());
            }
        }
        Identity identity;
        try {
            if (!tls && (requireClientCert || !trust.isEmpty())) {
                throw new IllegalArgumentException("--trust and --require-client-cert need --tls");
            }
            if (requireClientCert && trust.isEmpty()) {
                throw new IllegalArgumentException("--require-client-cert needs --trust FILE... (the clients' identity.crt)");
            }
            identity = identityDir != null ? Identity.load(identityDir) : Identity.generate();
            builder.identity(identity).tls(tls).trust(Identity.readCertificates(trust)).requireClientCertificates(requireClientCert);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        if (identityDir == null) {
            spec.commandLine().getErr().println("catena server: no --identity given; using a fresh identity " + identity.fingerprint()
                    + " for this run only" + (tls ? " (clients cannot --trust it ahead: use ./catena keygen and --identity)" : ""));
        }
        CatenaServer server = Progress.during((range != null ? "loading blocks " + range : "choosing and loading " + numBlocks + " blocks")
                + " of " + model.getFileName(), builder::start);
        var stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }));
        BlockRange hosted = server.blocks();
        String address = server.address();
        spec.commandLine().getOut().printf("catena server listening on %s, blocks [%d, %d) of %s, identity %s%s%n", address,
                hosted.start(), hosted.end(), model.getFileName(), identity.fingerprint(),
                tls ? (requireClientCert ? ", mutual TLS" : ", TLS") : "");
        spec.commandLine().getOut().flush();
        while (!stopped.await(500, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            if (!server.blocks().equals(hosted) || !server.address().equals(address)) { // moved (--num-blocks)
                hosted = server.blocks();
                address = server.address();
                spec.commandLine().getOut().printf("catena server moved to %s, blocks [%d, %d) of %s%n", address,
                        hosted.start(), hosted.end(), model.getFileName());
                spec.commandLine().getOut().flush();
            }
        }
        return 0;
    }
}

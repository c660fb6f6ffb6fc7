package dev.catena.samples.cli;

import dev.catena.directory.etcd.LocalEtcd;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** {@code catena etcd}: a local single-node etcd for demos, until stopped (Ctrl-C). */
@Command(name = "etcd", mixinStandardHelpOptions = true,
        description = {"Runs a local single-node etcd (fetched into the user's cache on first use) and prints its directory URI.",
                "Pass that URI to server, generate, swarm, serve and status as --directory."})
final class EtcdCommand implements Callable<Integer> {
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on and advertise (default ${DEFAULT-VALUE}).")
    String host;
    @Option(names = "--port", defaultValue = "2379", description = "Client port (default ${DEFAULT-VALUE}).") int port;
    @Option(names = "--peer-port", defaultValue = "2380", description = "Peer port (default ${DEFAULT-VALUE}).") int peerPort;
    @Option(names = "--data-dir", paramLabel = "DIR", description = "Where etcd keeps its data (default: a temporary folder, deleted at stop).")
    Path dataDir;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        for (int p : new int[]{port, peerPort}) {
            if (p < 1 || p > 65535) throw new CommandLine.ParameterException(spec.commandLine(), "ports must be in [1, 65535], got " + p);
        }
        if (port == peerPort) throw new CommandLine.ParameterException(spec.commandLine(), "--port and --peer-port must differ");
        boolean temporary = dataDir == null;
        Path data = temporary ? Files.createTempDirectory("catena-etcd-").resolve("data") : dataDir.toAbsolutePath();
        Path bin = LocalEtcd.binary();
        LocalEtcd etcd = LocalEtcd.single(bin, host, port, peerPort, data, Duration.ofSeconds(30));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            etcd.close();
            if (temporary) deleteQuietly(data.getParent());
        }));
        spec.commandLine().getOut().println(etcd.directoryUri());
        spec.commandLine().getOut().flush();
        spec.commandLine().getErr().printf("catena etcd: %s (client URL %s), data in %s%s; Ctrl-C stops it%n", etcd.directoryUri(),
                etcd.clientUrl(), data, temporary ? " (temporary)" : "");
        int code = etcd.waitFor();
        if (code != 0 && etcd.isAlive() == false) {
            spec.commandLine().getErr().println("catena etcd: etcd exited with " + code + " (its log: " + data + ".log)");
        }
        return code == 0 ? 0 : 1;
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary folder: the OS cleans it eventually
        }
    }
}

package dev.catena.samples.cli;

import dev.catena.directory.etcd.LocalEtcd;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static dev.catena.samples.cli.EtcdCommandIT.freePort;

/**
 * Real etcd members forming one cluster, on free loopback ports (never 2379), stopped at close; as the
 * directory-etcd module's tests start them. A free port taken by another process before etcd bound it
 * starts the cluster again on other ports (3 tries).
 */
final class EtcdCluster implements AutoCloseable {
    final List<LocalEtcd> members;

    private EtcdCluster(List<LocalEtcd> members) {
        this.members = members;
    }

    static EtcdCluster start(Path dir, int n) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                return startOnFreePorts(dir.resolve("try" + attempt), n);
            } catch (IllegalStateException e) {
                if (attempt == 3 || e.getMessage() == null || !e.getMessage().contains("address already in use")) throw e;
            }
        }
    }

    private static EtcdCluster startOnFreePorts(Path dir, int n) throws Exception {
        Path bin = LocalEtcd.binary();
        int[] client = new int[n];
        int[] peer = new int[n];
        for (int i = 0; i < n; i++) {
            client[i] = freePort();
            peer[i] = freePort();
        }
        String initial = IntStream.range(0, n).mapToObj(i -> "m" + i + "=http://127.0.0.1:" + peer[i]).collect(Collectors.joining(","));
        var cluster = new EtcdCluster(new ArrayList<>());
        try {
            for (int i = 0; i < n; i++) {
                cluster.members.add(LocalEtcd.start(bin, "m" + i, "127.0.0.1", client[i], peer[i], dir.resolve("m" + i), initial));
            }
            for (LocalEtcd m : cluster.members) m.awaitHealthy(Duration.ofSeconds(30));
            return cluster;
        } catch (RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    /** {@code etcd://} over every member, as servers and clients are given it. */
    URI uri() {
        return URI.create("etcd://" + members.stream().map(LocalEtcd::endpoint).collect(Collectors.joining(",")));
    }

    @Override
    public void close() {
        members.forEach(LocalEtcd::close);
    }
}

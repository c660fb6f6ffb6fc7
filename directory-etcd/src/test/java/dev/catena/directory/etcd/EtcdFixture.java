package dev.catena.directory.etcd;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** Real etcd processes for tests, on free loopback ports (never 2379), stopped at close. */
final class EtcdFixture implements AutoCloseable {
    final List<LocalEtcd> members;

    private EtcdFixture(List<LocalEtcd> members) {
        this.members = members;
    }

    static int freePort() {
        try (var s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One member; {@code dir} holds its data and log. */
    static EtcdFixture single(Path dir) {
        return cluster(dir, 1);
    }

    /**
     * {@code n} members forming one cluster, each healthy before this returns. A free port can be taken by
     * another process before etcd binds it: then the cluster starts again on other ports (3 tries).
     */
    static EtcdFixture cluster(Path dir, int n) {
        for (int attempt = 1; ; attempt++) {
            try {
                return clusterOnFreePorts(dir.resolve("try" + attempt), n);
            } catch (IllegalStateException e) {
                if (attempt == 3 || e.getMessage() == null || !e.getMessage().contains("address already in use")) throw e;
            }
        }
    }

    private static EtcdFixture clusterOnFreePorts(Path dir, int n) {
        Path bin = LocalEtcd.binary();
        int[] client = new int[n];
        int[] peer = new int[n];
        for (int i = 0; i < n; i++) {
            client[i] = freePort();
            peer[i] = freePort();
        }
        String initial = java.util.stream.IntStream.range(0, n).mapToObj(i -> "m" + i + "=http://127.0.0.1:" + peer[i])
                .collect(Collectors.joining(","));
        List<LocalEtcd> members = new ArrayList<>();
        var fixture = new EtcdFixture(members);
        try {
            for (int i = 0; i < n; i++) {
                members.add(LocalEtcd.start(bin, "m" + i, "127.0.0.1", client[i], peer[i], dir.resolve("m" + i), initial));
            }
            for (LocalEtcd m : members) m.awaitHealthy(Duration.ofSeconds(30));
            return fixture;
        } catch (RuntimeException e) {
            fixture.close();
            throw e;
        }
    }

    /** {@code etcd://} over every member. */
    java.net.URI uri() {
        return java.net.URI.create("etcd://" + members.stream().map(LocalEtcd::endpoint).collect(Collectors.joining(",")));
    }

    @Override
    public void close() {
        members.forEach(LocalEtcd::close);
    }
}

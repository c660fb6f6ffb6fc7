package dev.catena.directory.etcd;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.DirectoryOptions;
import dev.catena.api.directory.DirectoryProvider;

import java.net.URI;
import java.util.List;
import java.util.Optional;

/** {@code etcd://HOST:PORT[,HOST:PORT...]}: servers' records on leases in etcd, watched by clients. */
public final class EtcdDirectoryProvider extends DirectoryProvider {
    private static final Optional<Throwable> CAUSE = probe();

    private static Optional<Throwable> probe() {
        try {
            Class.forName("io.etcd.jetcd.Client", false, EtcdDirectoryProvider.class.getClassLoader());
            return Optional.empty();
        } catch (ClassNotFoundException | LinkageError e) {
            return Optional.of(new IllegalStateException("the etcd client (io.etcd:jetcd-core) is not on the path", e));
        }
    }

    @Override
    public String name() {
        return "etcd";
    }

    @Override
    public List<String> schemes() {
        return List.of("etcd");
    }

    @Override
    public Optional<Throwable> unavailabilityCause() {
        return CAUSE;
    }

    @Override
    public void validate(URI uri) {
        EtcdEndpoints.parse(uri);
    }

    @Override
    public Directory open(URI uri, DirectoryOptions options) {
        return new EtcdDirectory(EtcdEndpoints.parse(uri), options);
    }
}

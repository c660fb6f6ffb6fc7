package dev.catena.core.directory;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.DirectoryOptions;
import dev.catena.api.directory.DirectoryProvider;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** The directories core embeds, found through ServiceLoader like any plugin. */
public final class EmbeddedDirectoryProviders {
    private EmbeddedDirectoryProviders() {
    }

    /** {@code file:PATH}, {@code file:///PATH} or a plain path: a {@link FileDirectory}. */
    public static final class File extends DirectoryProvider {
        @Override
        public String name() {
            return "file";
        }

        @Override
        public List<String> schemes() {
            return List.of("file");
        }

        @Override
        public Optional<Throwable> unavailabilityCause() {
            return Optional.empty();
        }

        @Override
        public void validate(URI uri) {
            path(uri);
        }

        @Override
        public Directory open(URI uri, DirectoryOptions options) {
            return new FileDirectory(path(uri));
        }

        private static Path path(URI uri) {
            if (uri.getScheme() == null) return Path.of(uri.getPath());
            if (uri.isOpaque()) return Path.of(uri.getSchemeSpecificPart());
            if (uri.getAuthority() != null) {
                throw new IllegalArgumentException("a file directory names a local file (file:/path or a path), got '" + uri + "'");
            }
            return Path.of(uri);
        }
    }

    /** {@code static:HOST:PORT@A:B,...}: a fixed list (announcements refused). */
    public static final class Static extends DirectoryProvider {
        @Override
        public String name() {
            return "static";
        }

        @Override
        public List<String> schemes() {
            return List.of("static");
        }

        @Override
        public Optional<Throwable> unavailabilityCause() {
            return Optional.empty();
        }

        @Override
        public void validate(URI uri) {
            StaticDirectory.parse(uri.getSchemeSpecificPart());
        }

        @Override
        public Directory open(URI uri, DirectoryOptions options) {
            return StaticDirectory.parse(uri.getSchemeSpecificPart());
        }
    }

    /** {@code mem:NAME}: a directory shared by everything in this JVM that opens that name (tests, embedding). */
    public static final class Memory extends DirectoryProvider {
        @Override
        public String name() {
            return "mem";
        }

        @Override
        public List<String> schemes() {
            return List.of("mem");
        }

        @Override
        public Optional<Throwable> unavailabilityCause() {
            return Optional.empty();
        }

        @Override
        public Directory open(URI uri, DirectoryOptions options) {
            var shared = InMemoryDirectory.named(uri.getSchemeSpecificPart());
            // The caller closes what it opened; the shared map outlives it.
            return new Directory() {
                private final java.util.Set<String> announced = java.util.concurrent.ConcurrentHashMap.newKeySet();

                @Override
                public void announce(dev.catena.api.directory.ServerRecord record) {
                    announced.add(record.address());
                    shared.announce(record);
                }

                @Override
                public void withdraw(String address) {
                    announced.remove(address);
                    shared.withdraw(address);
                }

                @Override
                public List<dev.catena.api.directory.ServerRecord> servers(String modelId) {
                    return shared.servers(modelId);
                }

                @Override
                public java.util.Map<String, List<dev.catena.api.directory.ServerRecord>> allServers() {
                    return shared.allServers();
                }

                @Override
                public void close() {
                    announced.forEach(shared::withdraw);
                    announced.clear();
                }
            };
        }
    }
}

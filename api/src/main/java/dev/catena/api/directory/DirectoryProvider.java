package dev.catena.api.directory;

import dev.catena.api.spi.Provider;

import java.net.URI;
import java.util.List;

/**
 * A directory implementation for some URI schemes (e.g. {@code etcd}), found with
 * {@link java.util.ServiceLoader}. A directory URI without a scheme is a path, served by the
 * {@code file} provider.
 */
public abstract class DirectoryProvider extends Provider {

    /** The URI schemes it opens, lower case, e.g. {@code ["etcd"]}. */
    public abstract List<String> schemes();

    /**
     * Checks {@code uri}'s syntax without connecting.
     *
     * @throws IllegalArgumentException saying what is wrong with it and what is expected
     */
    public void validate(URI uri) {
    }

    /**
     * Opens the directory {@code uri} names; the caller closes it.
     *
     * @throws IllegalArgumentException for a malformed URI
     * @throws DirectoryException       when it cannot be reached
     */
    public abstract Directory open(URI uri, DirectoryOptions options);
}

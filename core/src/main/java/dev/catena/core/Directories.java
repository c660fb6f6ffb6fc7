package dev.catena.core;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.DirectoryOptions;
import dev.catena.api.directory.DirectoryProvider;

import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.TreeSet;

/**
 * Directories by URI scheme, through the {@link DirectoryProvider}s ServiceLoader finds (core
 * embeds {@code file}, {@code static} and {@code mem}; {@code directory-etcd} adds {@code etcd}).
 * A URI without a scheme is a path: a directory file.
 */
final class Directories {
    private Directories() {
    }

    /** Every directory provider found, preferred first. */
    static List<DirectoryProvider> providers() {
        return Providers.sorted(ServiceLoader.load(DirectoryProvider.class));
    }

    /**
     * Parses a command line's directory: a URI with a scheme, else a path.
     */
    static URI parse(String s) {
        if (s.matches("[A-Za-z][A-Za-z0-9+.-]*:.*") && !s.matches("[A-Za-z]:[\\\\/].*")) {
            try {
                return new URI(s);
            } catch (java.net.URISyntaxException e) {
                throw new IllegalArgumentException("directory '" + s + "' is not a URI: " + e.getMessage(), e);
            }
        }
        return java.nio.file.Path.of(s).toUri();
    }

    /**
     * The provider for {@code uri}'s scheme, after checking the URI's syntax (nothing is connected).
     *
     * @throws IllegalArgumentException for an unknown scheme (listing the known ones) or a malformed URI
     */
    static DirectoryProvider provider(URI uri) {
        String scheme = uri.getScheme() == null ? "file" : uri.getScheme().toLowerCase(Locale.ROOT);
        var all = providers();
        var matching = all.stream().filter(p -> p.schemes().contains(scheme)).toList();
        if (matching.isEmpty()) {
            var known = new TreeSet<String>();
            all.forEach(p -> known.addAll(p.schemes()));
            throw new IllegalArgumentException("unknown directory scheme '" + scheme + "' in '" + uri + "': known schemes are "
                    + String.join(", ", known) + " (a plain path is a file)"
                    + (scheme.equals("etcd") ? "; add a dependency on directory-etcd for etcd" : ""));
        }
        DirectoryProvider p = Providers.select(matching, null, "directory for '" + scheme + ":'", "directory-" + scheme);
        p.validate(uri);
        return p;
    }

    /** Checks {@code uri} without connecting. */
    static void check(URI uri) {
        provider(uri);
    }

    /** Opens the directory {@code uri} names; the caller closes it. */
    static Directory open(URI uri, DirectoryOptions options) {
        return provider(uri).open(uri, options);
    }

    static Directory open(URI uri) {
        return open(uri, DirectoryOptions.defaults());
    }
}

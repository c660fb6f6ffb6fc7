package dev.catena.api.directory;

import java.time.Duration;

/**
 * How a directory is opened.
 *
 * @param leaseTtl how long a server's record outlives its process: records are on a lease with this
 *                 TTL, kept alive while the directory is open (default 10 s)
 */
public record DirectoryOptions(Duration leaseTtl) {
    public static final Duration DEFAULT_LEASE_TTL = Duration.ofSeconds(10);

    public DirectoryOptions {
        if (leaseTtl == null || leaseTtl.toMillis() < 1000) {
            throw new IllegalArgumentException("leaseTtl must be >= 1 s, got " + leaseTtl);
        }
    }

    public static DirectoryOptions defaults() {
        return new DirectoryOptions(DEFAULT_LEASE_TTL);
    }
}

package dev.catena.core.directory;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.DirectoryOptions;
import dev.catena.api.directory.contract.DirectoryContract;

import java.net.URI;

/** The directory contract, for a {@code mem:} directory opened through its provider. */
class MemDirectoryContractTest extends DirectoryContract {
    private final String name = "contract-" + System.nanoTime();

    @Override
    protected Directory open() {
        return new EmbeddedDirectoryProviders.Memory().open(URI.create("mem:" + name), DirectoryOptions.defaults());
    }
}

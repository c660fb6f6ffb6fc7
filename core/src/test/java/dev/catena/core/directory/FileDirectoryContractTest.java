package dev.catena.core.directory;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.DirectoryOptions;
import dev.catena.api.directory.contract.DirectoryContract;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/** The directory contract, for a directory file opened through its provider. */
class FileDirectoryContractTest extends DirectoryContract {
    @TempDir
    Path tmp;

    @Override
    protected Directory open() {
        return new EmbeddedDirectoryProviders.File().open(tmp.resolve("servers.txt").toUri(), DirectoryOptions.defaults());
    }
}

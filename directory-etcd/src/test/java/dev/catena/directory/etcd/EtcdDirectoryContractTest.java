package dev.catena.directory.etcd;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.contract.DirectoryContract;
import dev.catena.api.directory.DirectoryOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/** The directory contract, for etcd (one real etcd process for the class). */
class EtcdDirectoryContractTest extends DirectoryContract {
    @TempDir
    static Path tmp;
    static EtcdFixture etcd;

    @BeforeAll
    static void start() {
        etcd = EtcdFixture.single(tmp);
    }

    @AfterAll
    static void stop() {
        if (etcd != null) etcd.close();
    }

    @Override
    protected Directory open() {
        return new EtcdDirectoryProvider().open(etcd.uri(), DirectoryOptions.defaults());
    }
}

package dev.catena.core;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;
import dev.catena.core.directory.FileDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Directories are opened by URI scheme through ServiceLoader; the embedded ones are file, static and mem. */
class DirectoriesTest {

    @Test
    void embeddedSchemesAreFoundThroughServiceLoader() {
        var schemes = Catena.directoryProviders().stream().flatMap(p -> p.schemes().stream()).toList();
        assertTrue(schemes.containsAll(List.of("file", "static", "mem")), schemes.toString());
    }

    @Test
    void anUnknownSchemeListsTheKnownOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> Directories.check(URI.create("zk://h:1")));
        assertTrue(e.getMessage().contains("unknown directory scheme 'zk'") && e.getMessage().contains("file, mem, static"),
                e.getMessage());
    }

    @Test
    void pathsAndFileUrisOpenAFile(@TempDir Path tmp) {
        Path f = tmp.resolve("dir.txt");
        try (var d = Directories.open(Directories.parse(f.toString()))) {
            assertInstanceOf(FileDirectory.class, d);
            d.announce(new ServerRecord("h:1", "fp", "m.gguf", new BlockRange(0, 2), 1.5, 9, ServerRecord.State.ONLINE, "abc", "", ""));
        }
        try (var d = Directories.open(f.toUri())) {
            assertEquals(List.of(), d.servers("fp"), "closing the directory withdrew what it announced");
        }
        assertThrows(IllegalArgumentException.class, () -> Directories.check(URI.create("file://otherhost/x")));
    }

    @Test
    void aFileKeepsNameAndDigest(@TempDir Path tmp) {
        var d = new FileDirectory(tmp.resolve("dir.txt"));
        var r = new ServerRecord("h:1", "fp", "m.gguf", new BlockRange(0, 2), 1.5, 9, ServerRecord.State.ONLINE, "abc", "", "");
        d.announce(r);
        assertEquals(List.of(r), d.servers("fp"));
        assertEquals(List.of("fp"), List.copyOf(d.allServers().keySet()));
    }

    @Test
    void aStaticListServesAnyModelAndRefusesAnnouncements() {
        try (var d = Directories.open(URI.create("static:127.0.0.1:7001@0:3,127.0.0.1:7002@3:5"))) {
            var servers = d.servers("fp");
            assertEquals(List.of("127.0.0.1:7001", "127.0.0.1:7002"), servers.stream().map(ServerRecord::address).toList());
            assertEquals(new BlockRange(3, 5), servers.get(1).span());
            assertEquals("fp", servers.get(0).modelId());
            assertThrows(UnsupportedOperationException.class, () -> d.announce(ServerRecord.online("h:1", "fp", new BlockRange(0, 1))));
        }
        var e = assertThrows(IllegalArgumentException.class, () -> Directories.check(URI.create("static:127.0.0.1:7001")));
        assertTrue(e.getMessage().contains("HOST:PORT@A:B"), e.getMessage());
    }

    @Test
    void memDirectoriesAreSharedByNameAndWithdrawAtClose() {
        var a = Directories.open(URI.create("mem:directories-test"));
        try (var b = Directories.open(URI.create("mem:directories-test"))) {
            a.announce(ServerRecord.online("h:1", "fp", new BlockRange(0, 1)));
            assertEquals(1, b.servers("fp").size());
            a.close();
            assertEquals(0, b.servers("fp").size());
        }
    }

    @Test
    void aLocalSwarmAnnouncesInADirectoryAndItsClientsFindItThere() {
        URI dir = URI.create("mem:local-swarm-" + System.nanoTime());
        var request = GenerationRequest.builder("Once upon a time").maxTokens(8).greedy().ignoreEos().build();
        List<Integer> local;
        try (var g = Catena.local(CatenaApiTest.MODEL).build()) {
            local = g.generate(request).tokens();
        }
        try (Directory view = Directories.open(dir)) {
            try (LocalSwarm swarm = Catena.localSwarm(CatenaApiTest.MODEL).servers(2).directory(dir).start();
                 CatenaClient client = swarm.client()) {
                assertEquals(2, view.servers(Catena.modelId(CatenaApiTest.MODEL)).size());
                assertEquals(local, client.generate(request).tokens());
            }
            assertEquals(List.of(), view.servers(Catena.modelId(CatenaApiTest.MODEL)), "withdrawn at close");
        }
    }
}

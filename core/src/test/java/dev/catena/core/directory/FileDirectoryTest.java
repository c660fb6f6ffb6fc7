package dev.catena.core.directory;

import dev.catena.api.directory.ServerRecord;

import dev.catena.api.BlockRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class FileDirectoryTest {

    @Test
    void announceReplaceWithdrawAndIgnoreJunk(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("dir.txt");
        var d = new FileDirectory(f);
        d.announce(ServerRecord.online("h:1", "m", new BlockRange(0, 2)));
        d.announce(ServerRecord.online("h:2", "m", new BlockRange(2, 5)));
        d.announce(ServerRecord.online("h:3", "other", new BlockRange(0, 5)));
        d.announce(ServerRecord.online("h:1", "m", new BlockRange(0, 3))); // replaces h:1
        Files.writeString(f, "garbage line\nh:9 m 7:3\n", java.nio.file.StandardOpenOption.APPEND);
        var servers = d.servers("m");
        assertEquals(List.of("h:1 0:3", "h:2 2:5"), servers.stream().map(r -> r.address() + " " + r.span()).toList());
        d.announce(new ServerRecord("h:2", "m", new BlockRange(2, 5), 12.5, 300, ServerRecord.State.ONLINE)); // a refresh
        var refreshed = d.servers("m").get(1);
        assertEquals(12.5, refreshed.throughput());
        assertEquals(300, refreshed.freeKvTokens());
        assertEquals(Long.MAX_VALUE, d.servers("m").get(0).freeKvTokens(), "announced as unknown");
        d.withdraw("h:1");
        assertEquals(List.of("h:2"), d.servers("m").stream().map(ServerRecord::address).toList());
    }

    @Test
    void concurrentAnnouncersLoseNoLine(@TempDir Path tmp) throws Exception {
        var d = new FileDirectory(tmp.resolve("dir.txt"));
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            int n = i;
            threads.add(Thread.ofPlatform().start(() -> d.announce(ServerRecord.online("h:" + n, "m", new BlockRange(0, 1)))));
        }
        for (Thread t : threads) t.join();
        assertEquals(16, d.servers("m").size());
    }

    @Test
    void watchersSeeAnnouncementsRefreshesAndWithdrawals(@TempDir Path tmp) throws Exception {
        var d = new FileDirectory(tmp.resolve("dir.txt"));
        var seen = new java.util.concurrent.LinkedBlockingQueue<List<ServerRecord>>();
        try (var watch = d.watch("m", java.time.Duration.ofMillis(20), seen::add)) {
            assertEquals(List.of(), seen.poll(5, java.util.concurrent.TimeUnit.SECONDS), "the state now, first");
            d.announce(ServerRecord.online("h:1", "m", new BlockRange(0, 2)));
            assertEquals(List.of("h:1"), seen.poll(5, java.util.concurrent.TimeUnit.SECONDS).stream().map(ServerRecord::address).toList());
            d.announce(new ServerRecord("h:1", "m", new BlockRange(0, 2), 3.0, 10, ServerRecord.State.ONLINE));
            assertEquals(10, seen.poll(5, java.util.concurrent.TimeUnit.SECONDS).getFirst().freeKvTokens(), "a refresh is a change");
            d.withdraw("h:1");
            assertEquals(List.of(), seen.poll(5, java.util.concurrent.TimeUnit.SECONDS));
            Thread.sleep(100);
            assertEquals(0, seen.size(), "no call without a change");
        }
    }
}

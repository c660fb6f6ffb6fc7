package dev.catena.directory.etcd;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.DirectoryException;
import dev.catena.api.directory.DirectoryOptions;
import dev.catena.api.directory.ServerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The etcd directory against a real etcd 3.4: announce, watch, refresh, withdraw, lease expiry. */
class EtcdDirectoryTest {
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

    static EtcdDirectory open(Duration ttl) {
        return new EtcdDirectory(EtcdEndpoints.parse(etcd.uri()), new DirectoryOptions(ttl));
    }

    static ServerRecord record(String address, String model, int a, int b) {
        return new ServerRecord(address, model, "stories260K.gguf", new BlockRange(a, b), 0, 1000, ServerRecord.State.ONLINE,
                "digest-" + a + "-" + b, "", "");
    }

    static List<String> addresses(List<ServerRecord> records) {
        return records.stream().map(ServerRecord::address).toList();
    }

    @Test
    void aRereadHoldsEveryAcknowledgedPutAndTheWatchGoesOnAfterIt() throws Exception {
        try (var server = open(Duration.ofSeconds(10)); var client = open(Duration.ofSeconds(10))) {
            assertEquals(List.of(), client.servers("reread-model")); // watched from here
            for (int i = 0; i < 50; i++) server.announce(record("10.0.1." + i + ":7001", "reread-model", 0, 3));
            // Every put was acknowledged: a read now has all of them, whether or not their events reached the watch.
            assertEquals(50, client.reread("reread-model").size());
            assertEquals(50, client.servers("reread-model").size(), "the view holds what the read found");
            server.announce(record("10.0.2.1:7001", "reread-model", 3, 5));
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (client.servers("reread-model").size() < 51 && System.nanoTime() < deadline) Thread.sleep(10);
            assertEquals(51, client.servers("reread-model").size(), "changes after the read still come through the watch");
        }
    }

    @Test
    void watchersSeeAnnouncementsRefreshesAndWithdrawalsPushed() throws Exception {
        var seen = new LinkedBlockingQueue<List<ServerRecord>>();
        try (var server = open(Duration.ofSeconds(10)); var client = open(Duration.ofSeconds(10));
             var watch = client.watch("watch-model", seen::add)) {
            assertEquals(List.of(), seen.poll(5, TimeUnit.SECONDS), "the state now, first");
            var r = record("10.0.0.1:7001", "watch-model", 0, 3);
            server.announce(r);
            assertEquals(List.of(r), seen.poll(5, TimeUnit.SECONDS), "the record, with every field");
            server.announce(r.withLoad(12.5, 77));
            assertEquals(77, seen.poll(5, TimeUnit.SECONDS).getFirst().freeKvTokens(), "a refresh is a change");
            server.announce(record("10.0.0.2:7001", "other-model", 0, 3));
            server.withdraw(r.address());
            assertEquals(List.of(), seen.poll(5, TimeUnit.SECONDS));
            assertEquals(List.of(), client.servers("watch-model"));
            assertEquals(List.of("10.0.0.2:7001"), addresses(client.servers("other-model")));
            assertTrue(client.allServers().containsKey("other-model"));
            Thread.sleep(200);
            assertEquals(0, seen.size(), "no call without a change to its model");
        }
    }

    @Test
    void closingWithdrawsEveryRecordAtOnce() throws Exception {
        try (var client = open(Duration.ofSeconds(10))) {
            var seen = new LinkedBlockingQueue<List<ServerRecord>>();
            client.watch("close-model", seen::add);
            assertEquals(List.of(), seen.poll(5, TimeUnit.SECONDS));
            var server = open(Duration.ofSeconds(10));
            server.announce(record("10.0.0.1:7001", "close-model", 0, 2));
            server.announce(record("10.0.0.1:7002", "close-model", 2, 5));
            List<ServerRecord> now;
            do {
                now = seen.poll(5, TimeUnit.SECONDS);
            } while (now != null && now.size() < 2);
            assertEquals(List.of("10.0.0.1:7001", "10.0.0.1:7002"), addresses(now));
            long t0 = System.nanoTime();
            server.close();
            assertEquals(List.of(), seen.poll(5, TimeUnit.SECONDS), "the lease was revoked: both records went together");
            assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "withdrawn at close, not at lease expiry");
        }
    }

    @Test
    void aKilledServersRecordGoesWhenItsLeaseExpires() throws Exception {
        Duration ttl = Duration.ofSeconds(2);
        try (var client = open(Duration.ofSeconds(10))) {
            var server = open(ttl);
            server.announce(record("10.0.0.9:7001", "kill-model", 0, 5));
            var seen = new LinkedBlockingQueue<List<ServerRecord>>();
            client.watch("kill-model", seen::add);
            assertEquals(1, seen.poll(5, TimeUnit.SECONDS).size());
            Thread.sleep(3 * ttl.toMillis()); // kept alive past its TTL while the server lives
            assertEquals(1, client.servers("kill-model").size(), "the keep-alive holds the record");
            long t0 = System.nanoTime();
            server.abandon(); // as kill -9: no revoke, no more keep-alives
            assertEquals(List.of(), seen.poll(ttl.toMillis() + 2000, TimeUnit.MILLISECONDS), "gone within TTL + 2 s");
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("lease expiry after kill: record gone after %.2f s (TTL %d s)%n", s, ttl.toSeconds());
        }
    }

    @Test
    void randomAnnouncementsAndWithdrawalsEndInTheSameViewEverywhere() throws Exception {
        long seed = Long.getLong("catena.test.seed", System.nanoTime());
        var rnd = new Random(seed);
        try (var a = open(Duration.ofSeconds(10)); var b = open(Duration.ofSeconds(10)); var client = open(Duration.ofSeconds(10))) {
            var last = new java.util.concurrent.atomic.AtomicReference<List<ServerRecord>>();
            client.watch("random-model", last::set);
            Map<String, ServerRecord> expected = new TreeMap<>();
            for (int i = 0; i < 60; i++) {
                var dir = rnd.nextBoolean() ? a : b;
                String address = "10.0." + (dir == a ? 1 : 2) + "." + rnd.nextInt(6) + ":7000";
                if (rnd.nextInt(3) == 0) {
                    dir.withdraw(address);
                    expected.remove(address);
                } else {
                    int start = rnd.nextInt(5);
                    var r = record(address, "random-model", start, start + 1 + rnd.nextInt(5 - start)).withLoad(rnd.nextInt(100), rnd.nextInt(1000));
                    dir.announce(r);
                    expected.put(address, r);
                }
            }
            var want = List.copyOf(expected.values());
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!want.equals(last.get()) && System.nanoTime() < deadline) Thread.sleep(10);
            assertEquals(want, last.get(), "seed " + seed + " (-Dcatena.test.seed=" + seed + ")");
            assertEquals(want, client.servers("random-model"), "seed " + seed);
            try (var fresh = open(Duration.ofSeconds(10))) {
                assertEquals(want, fresh.servers("random-model"), "a new client reads the same; seed " + seed);
            }
        }
    }

    @Test
    void aClientPlansFromItsLocalViewEvenWhenEtcdIsGone(@TempDir Path own) throws Exception {
        try (var solo = EtcdFixture.single(own)) {
            var server = new EtcdDirectory(EtcdEndpoints.parse(solo.uri()), DirectoryOptions.defaults());
            var client = new EtcdDirectory(EtcdEndpoints.parse(solo.uri()), DirectoryOptions.defaults());
            try {
                server.announce(record("10.0.0.1:7001", "local-model", 0, 5));
                assertEquals(1, client.servers("local-model").size());
                solo.members.getFirst().kill();
                long t0 = System.nanoTime();
                for (int i = 0; i < 10_000; i++) assertEquals(1, client.servers("local-model").size());
                double us = (System.nanoTime() - t0) / 1e3 / 10_000;
                System.out.printf("servers() from the watched view: %.2f us a call%n", us);
            } finally {
                server.abandon();
                client.abandon();
            }
        }
    }

    @Test
    void anUnreachableEtcdIsAClearError() {
        URI nowhere = URI.create("etcd://127.0.0.1:" + EtcdFixture.freePort());
        try (var d = new EtcdDirectory(EtcdEndpoints.parse(nowhere), DirectoryOptions.defaults(), Duration.ofSeconds(2))) {
            var e = assertThrows(DirectoryException.class, () -> d.servers("m"));
            assertTrue(e.getMessage().contains(nowhere.toString()), e.getMessage());
        }
    }

    @Test
    void urisAreCheckedWithoutConnecting() {
        assertEquals(List.of("a:1", "b:2"), EtcdEndpoints.parse(URI.create("etcd://a:1,b:2")).hostPorts());
        for (String bad : List.of("etcd://a", "etcd://a:x", "etcd://a:1,b", "etcd://a:1/path", "etcd:opaque")) {
            var e = assertThrows(IllegalArgumentException.class, () -> new EtcdDirectoryProvider().validate(URI.create(bad)), bad);
            assertTrue(e.getMessage().contains(bad.substring(0, 6)), e.getMessage());
        }
    }

    @Test
    void recordsRoundTripAndMalformedOnesAreRefused() {
        var r = new ServerRecord("h:1", "fp", "name with space.gguf", new BlockRange(2, 7), 3.25, 99, ServerRecord.State.JOINING,
                "d", "pk", "sig");
        assertEquals(r, RecordCodec.decode(RecordCodec.encode(r)));
        assertThrows(IllegalArgumentException.class, () -> RecordCodec.decode("address=h:1\n".getBytes()));
    }
}

package dev.catena.api.directory.contract;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;

import dev.catena.api.BlockRange;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What every {@link Directory} must do, for each implementation to run through a small subclass
 * that says how to open a handle on one shared directory. Directories may be eventually
 * consistent: reads are retried for up to 5 s.
 */
public abstract class DirectoryContract {

    /** A new handle on the directory every call of this test shares (a server's and a client's view). */
    protected abstract Directory open();

    /** A model id no other test uses. */
    protected String model(String name) {
        return getClass().getSimpleName() + "-" + name + "-" + System.nanoTime();
    }

    protected static ServerRecord record(String address, String model, int a, int b) {
        return new ServerRecord(address, model, "model.gguf", new BlockRange(a, b), 12.5, 300, ServerRecord.State.ONLINE,
                "ab".repeat(32), "", "");
    }

    /** Waits until {@code read} gives {@code expected}, at most 5 s, and checks it. */
    protected static <T> void eventually(T expected, Supplier<T> read, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        T now = read.get();
        while (!expected.equals(now) && System.nanoTime() < deadline) {
            Thread.sleep(20);
            now = read.get();
        }
        assertEquals(expected, now, what);
    }

    @Test
    void anAnnouncedRecordIsFoundWithItsFields() throws Exception {
        String m = model("fields");
        try (Directory server = open(); Directory client = open()) {
            var r = record("10.9.0.1:7001", m, 2, 5);
            server.announce(r);
            eventually(List.of(r), () -> client.servers(m), "the record as announced");
        }
    }

    @Test
    void aRefreshReplacesTheRecord() throws Exception {
        String m = model("refresh");
        try (Directory server = open(); Directory client = open()) {
            var r = record("10.9.0.1:7001", m, 0, 3);
            server.announce(r);
            server.announce(r.withLoad(40.5, 7));
            eventually(List.of(r.withLoad(40.5, 7)), () -> client.servers(m), "one record, refreshed");
        }
    }

    @Test
    void modelsAreSeparateAndServersSortedByAddress() throws Exception {
        String m = model("a");
        String other = model("b");
        try (Directory server = open(); Directory client = open()) {
            server.announce(record("10.9.0.2:7001", m, 0, 3));
            server.announce(record("10.9.0.1:7001", m, 3, 5));
            server.announce(record("10.9.0.3:7001", other, 0, 5));
            eventually(List.of("10.9.0.1:7001", "10.9.0.2:7001"),
                    () -> client.servers(m).stream().map(ServerRecord::address).toList(), "this model's servers, sorted");
            eventually(List.of("10.9.0.3:7001"), () -> client.servers(other).stream().map(ServerRecord::address).toList(),
                    "the other model's");
            var all = client.allServers();
            assertTrue(all.isEmpty() || all.get(m).size() == 2 && all.get(other).size() == 1, all.toString());
        }
    }

    @Test
    void aWithdrawnRecordIsGone() throws Exception {
        String m = model("withdraw");
        try (Directory server = open(); Directory client = open()) {
            server.announce(record("10.9.0.1:7001", m, 0, 5));
            eventually(1, () -> client.servers(m).size(), "announced");
            server.withdraw("10.9.0.1:7001");
            eventually(List.of(), () -> client.servers(m), "withdrawn");
        }
    }

    @Test
    void closingWithdrawsWhatTheHandleAnnounced() throws Exception {
        String m = model("close");
        try (Directory client = open()) {
            Directory server = open();
            server.announce(record("10.9.0.1:7001", m, 0, 5));
            eventually(1, () -> client.servers(m).size(), "announced");
            server.close();
            eventually(List.of(), () -> client.servers(m), "withdrawn at close");
        }
    }

    @Test
    void aWatchSeesTheStateThenEveryChange() throws Exception {
        String m = model("watch");
        var seen = new LinkedBlockingQueue<List<ServerRecord>>();
        try (Directory server = open(); Directory client = open(); var watch = client.watch(m, seen::add)) {
            assertEquals(List.of(), seen.poll(5, TimeUnit.SECONDS), "the state now, first");
            var r = record("10.9.0.1:7001", m, 0, 5);
            server.announce(r);
            assertEquals(List.of(r), seen.poll(5, TimeUnit.SECONDS), "the announcement");
            server.withdraw(r.address());
            assertEquals(List.of(), seen.poll(5, TimeUnit.SECONDS), "the withdrawal");
            watch.close();
            server.announce(r);
            Thread.sleep(300);
            assertTrue(seen.isEmpty() || seen.stream().allMatch(List::isEmpty), "no call after the watch closed: " + seen);
        }
    }
}

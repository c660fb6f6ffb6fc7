package dev.catena.directory.etcd;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;
import dev.catena.core.Catena;
import dev.catena.core.CatenaClient;
import dev.catena.core.CatenaServer;
import dev.catena.core.GenerationRequest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real servers (Netty, the ggml backend) announcing into real etcd, and clients that find them
 * there: greedy tokens equal a local run's, also after an etcd member of three is killed.
 */
class EtcdSwarmTest {
    static final Path MODEL = Path.of(System.getProperty("catena.models.dir", "../models"), "stories260K.gguf").toAbsolutePath();
    static final String PROMPT = "Once upon a time";
    static final int N = 16;
    static List<Integer> local;

    static GenerationRequest greedy(int n) {
        return GenerationRequest.builder(PROMPT).maxTokens(n).greedy().ignoreEos().build();
    }

    @BeforeAll
    static void reference() {
        try (var g = Catena.local(MODEL).build()) {
            local = g.generate(greedy(N)).tokens();
        }
    }

    static void await(BooleanSupplier condition, Duration within, String what) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) Thread.sleep(20);
        assertTrue(condition.getAsBoolean(), what);
    }

    static String modelId() {
        try (Directory d = Catena.directory(URI.create("mem:model-id-probe"));
             CatenaServer s = Catena.server(MODEL).blocks(0, 1).directory(URI.create("mem:model-id-probe")).start()) {
            return d.allServers().keySet().iterator().next();
        }
    }

    @Test
    void aClientRoutesThroughServersFoundInEtcd(@TempDir Path tmp) throws Exception {
        try (var etcd = EtcdFixture.single(tmp)) {
            URI uri = etcd.uri();
            String model = modelId();
            try (Directory watcher = Catena.directory(uri);
                 CatenaServer a = Catena.server(MODEL).blocks(0, 3).directory(uri).announceEvery(Duration.ofMillis(200)).start();
                 CatenaServer b = Catena.server(MODEL).blocks(3, 5).directory(uri).announceEvery(Duration.ofMillis(200)).start()) {
                var seen = new LinkedBlockingQueue<List<ServerRecord>>();
                watcher.watch(model, seen::add);
                assertEquals(Set.of(a.address(), b.address()),
                        Set.copyOf(watcher.servers(model).stream().map(ServerRecord::address).toList()));
                var rec = watcher.servers(model).stream().filter(r -> r.address().equals(a.address())).findFirst().orElseThrow();
                assertEquals("stories260K.gguf", rec.modelName(), "the name is kept for display");
                try (CatenaClient client = Catena.client(MODEL).directory(uri).build()) {
                    assertEquals(local, client.generate(greedy(N)).tokens(), "tokens through etcd-found servers equal the local run's");
                }
                await(() -> watcher.servers(model).stream().allMatch(r -> r.throughput() > 0), Duration.ofSeconds(5),
                        "records are refreshed with the measured throughput");
                a.close();
                await(() -> watcher.servers(model).stream().map(ServerRecord::address).toList().equals(List.of(b.address())),
                        Duration.ofSeconds(2), "a stopped server's record is withdrawn at once");
            }
        }
    }

    @Test
    void announcingAndRoutingGoOnWhenAnEtcdMemberOfThreeIsKilled(@TempDir Path tmp) throws Exception {
        long seed = Long.getLong("catena.test.seed", System.nanoTime());
        var rnd = new Random(seed);
        try (var etcd = EtcdFixture.cluster(tmp, 3)) {
            URI uri = etcd.uri();
            String model = modelId();
            List<CatenaServer> servers = new ArrayList<>();
            try (Directory watcher = Catena.directory(uri)) {
                servers.add(Catena.server(MODEL).blocks(0, 2).directory(uri).start());
                servers.add(Catena.server(MODEL).blocks(2, 5).directory(uri).start());
                await(() -> watcher.servers(model).size() == 2, Duration.ofSeconds(5), "both servers announced; seed " + seed);
                // A client whose watch was on the killed member sees nothing until jetcd re-opens the watch on
                // another member: its failovers wait for the directory (awaitCoverage) instead of giving up.
                try (CatenaClient client = Catena.client(MODEL).directory(uri).awaitCoverage(Duration.ofSeconds(15)).build()) {
                    assertEquals(local.subList(0, 8), client.generate(greedy(8)).tokens(), "seed " + seed);
                    int victim = rnd.nextInt(3);
                    etcd.members.get(victim).kill();
                    System.out.println("killed etcd member m" + victim + " (seed " + seed + ")");
                    servers.add(Catena.server(MODEL).blocks(0, 5).directory(uri).start());
                    await(() -> watcher.servers(model).size() == 3, Duration.ofSeconds(15),
                            "a server announces with one etcd member dead; seed " + seed);
                    servers.removeFirst().close(); // withdraws with one member dead
                    await(() -> watcher.servers(model).size() == 2, Duration.ofSeconds(15), "withdrawn; seed " + seed);
                    assertEquals(local, client.generate(greedy(N)).tokens(), "routing goes on; seed " + seed);
                }
                try (CatenaClient fresh = Catena.client(MODEL).directory(uri).awaitCoverage(Duration.ofSeconds(15)).build()) {
                    assertEquals(local, fresh.generate(greedy(N)).tokens(), "a new client finds the servers; seed " + seed);
                }
            } finally {
                servers.forEach(CatenaServer::close);
            }
        }
    }
}

package dev.catena.bench;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;
import dev.catena.core.Catena;
import dev.catena.core.client.RoutePlanner;
import dev.catena.directory.etcd.LocalEtcd;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;

/**
 * A swarm's directory at scale (issue 13): N simulated server records in a real etcd (one member, its data on
 * this machine's disk), announced by A processes' worth of directory clients, watched by W clients. Measures
 * the burst put rate, a new client's first read, the time from a record's change to every watcher, route
 * planning over a watched view (the issue asks p50 at most 5 ms at 1,000 records) and etcd's load over one
 * announce interval in which every record changes (its metrics before and after), next to the arithmetic.
 */
@Command(name = "etcd", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Directory scale on a real etcd: N simulated records, announce burst, first read, change-to-watchers time, "
                + "route planning p50 over the watched view, and etcd's load per announce interval (measured and on paper)."})
public final class EtcdBench implements Callable<Integer> {
    @Option(names = "--records", defaultValue = "1000", description = "Simulated servers (default ${DEFAULT-VALUE}).") int records;
    @Option(names = "--blocks", defaultValue = "80", description = "Blocks of the model; spans of 4 to 16 (default ${DEFAULT-VALUE}).") int nLayer;
    @Option(names = "--announcers", defaultValue = "20", description = "Directory clients announcing (default ${DEFAULT-VALUE}).") int announcers;
    @Option(names = "--watchers", defaultValue = "5", description = "Directory clients watching (default ${DEFAULT-VALUE}).") int watchers;
    @Option(names = "--changes", defaultValue = "50", description = "Changes timed to every watcher (default ${DEFAULT-VALUE}).") int changes;
    @Option(names = "--plans", defaultValue = "1000", description = "Route plans timed, after 200 of warm-up (default ${DEFAULT-VALUE}).") int plans;
    @Option(names = "--announce-every-s", defaultValue = "5", description = "The servers' announce interval (default ${DEFAULT-VALUE}).") int interval;
    @Option(names = "--ttl-s", defaultValue = "10", description = "The servers' lease TTL, for the arithmetic (default ${DEFAULT-VALUE}).") int ttl;
    @Option(names = "--seed", defaultValue = "1") long seed;

    static double percentile(double[] xs, double p) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) Math.floor(p * s.length))];
    }

    static int freePort() throws Exception {
        try (var s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Override
    public Integer call() throws Exception {
        if (records < 1 || nLayer < 16 || announcers < 1 || watchers < 1 || changes < 1 || plans < 1 || interval < 1 || ttl < 1) {
            throw new IllegalArgumentException("--records, --announcers, --watchers, --changes, --plans, --announce-every-s and --ttl-s "
                    + "must be >= 1 and --blocks >= 16");
        }
        var rnd = new Random(seed);
        String model = "bench-model";
        List<ServerRecord> recs = new ArrayList<>();
        for (int i = 0; i < records; i++) {
            int size = 4 + rnd.nextInt(13);
            int start = rnd.nextInt(nLayer - size + 1);
            recs.add(new ServerRecord("10." + (i / 250 / 250) + "." + (i / 250 % 250) + "." + (i % 250) + ":7000", model, "bench.gguf",
                    new BlockRange(start, start + size), 5 + rnd.nextInt(100), 10_000, ServerRecord.State.ONLINE, "0".repeat(64), "", ""));
        }
        Path dir = Files.createTempDirectory("catena-etcd-bench");
        try (LocalEtcd etcd = LocalEtcd.single(LocalEtcd.binary(), "127.0.0.1", freePort(), freePort(), dir.resolve("data"),
                Duration.ofSeconds(30))) {
            return measure(etcd, recs, rnd, model);
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private int measure(LocalEtcd etcd, List<ServerRecord> recs, Random rnd, String model) throws Exception {
        List<Directory> opened = new ArrayList<>();
        try {
            URI uri = etcd.directoryUri();
            var metrics = new EtcdMetrics(URI.create(etcd.clientUrl() + "/metrics"));
            List<Directory> ann = new ArrayList<>();
            for (int a = 0; a < announcers; a++) ann.add(open(opened, uri));
            long t0 = System.nanoTime();
            inParallel(ann, (a, d) -> {
                for (int i = a; i < records; i += announcers) d.announce(recs.get(i));
            });
            double burstS = (System.nanoTime() - t0) / 1e9;

            Map<Integer, Map<String, Long>> seenAt = new ConcurrentHashMap<>();
            List<Directory> clients = new ArrayList<>();
            long c0 = System.nanoTime();
            for (int w = 0; w < watchers; w++) {
                var c = open(opened, uri);
                clients.add(c);
                if (c.servers(model).size() != records) throw new IllegalStateException("a watcher read " + c.servers(model).size());
                int watcher = w;
                seenAt.put(w, new ConcurrentHashMap<>());
                c.watch(model, list -> {
                    long now = System.nanoTime();
                    for (ServerRecord r : list) seenAt.get(watcher).putIfAbsent(r.address() + " " + r.throughput(), now);
                });
            }
            double firstReadMs = (System.nanoTime() - c0) / 1e6 / watchers;

            double[] propagation = new double[changes];
            for (int k = 0; k < changes; k++) {
                int i = rnd.nextInt(records);
                var changed = recs.get(i).withLoad(1000 + k, recs.get(i).freeKvTokens());
                String key = changed.address() + " " + changed.throughput();
                long start = System.nanoTime();
                ann.get(i % announcers).announce(changed);
                recs.set(i, changed);
                propagation[k] = (waitForAll(seenAt, key, start + 10_000_000_000L) - start) / 1e6;
            }

            var view = clients.getFirst();
            Map<String, Double> rtts = new HashMap<>();
            for (ServerRecord r : recs) rtts.put(r.address(), 1 + rnd.nextDouble() * 50);
            var cost = RoutePlanner.latency(rtts);
            double[] planMs = new double[plans];
            double[] lookupUs = new double[plans];
            for (int k = -200; k < plans; k++) {
                long l0 = System.nanoTime();
                var now = view.servers(model);
                long l1 = System.nanoTime();
                var route = RoutePlanner.plan(now, nLayer, Set.of(), cost);
                long l2 = System.nanoTime();
                if (route.getLast().blocks().end() != nLayer) throw new IllegalStateException("a route that does not cover the model");
                if (k >= 0) {
                    lookupUs[k] = (l1 - l0) / 1e3;
                    planMs[k] = (l2 - l1) / 1e6;
                }
            }

            // One announce interval in which every server's throughput changed: each refreshes once, spread evenly.
            var before = metrics.read();
            long i0 = System.nanoTime();
            long every = interval * 1_000_000_000L / records;
            inParallel(ann, (a, d) -> {
                for (int i = a; i < records; i += announcers) {
                    long due = i0 + i * every;
                    while (System.nanoTime() < due) sleepNanos(due - System.nanoTime());
                    d.announce(recs.get(i).withLoad(recs.get(i).throughput() + 0.5, recs.get(i).freeKvTokens()));
                }
            });
            double intervalS = (System.nanoTime() - i0) / 1e9;
            Thread.sleep(300); // the watchers' last events
            var after = metrics.read();
            double puts = after.getOrDefault("etcd_mvcc_put_total", 0.0) - before.getOrDefault("etcd_mvcc_put_total", 0.0);
            double in = after.getOrDefault("etcd_network_client_grpc_received_bytes_total", 0.0)
                    - before.getOrDefault("etcd_network_client_grpc_received_bytes_total", 0.0);
            double out = after.getOrDefault("etcd_network_client_grpc_sent_bytes_total", 0.0)
                    - before.getOrDefault("etcd_network_client_grpc_sent_bytes_total", 0.0);

            var o = System.out;
            o.printf(Locale.ROOT, "etcd bench: %d records over %d blocks (spans 4 to 16), %d announcers, %d watchers, seed %d, etcd 3.4 (one member)%n",
                    records, nLayer, announcers, watchers, seed);
            o.printf(Locale.ROOT, "  announce burst: %d puts in %.2f s = %.0f puts/s%n", records, burstS, records / burstS);
            o.printf(Locale.ROOT, "  a new client's first read of %d records: %.1f ms%n", records, firstReadMs);
            o.printf(Locale.ROOT, "  a change to all %d watchers: p50 %.2f ms, p90 %.2f ms, max %.2f ms (%d changes)%n", watchers,
                    percentile(propagation, 0.5), percentile(propagation, 0.9), percentile(propagation, 1), changes);
            o.printf(Locale.ROOT, "  lookup from the watched view: p50 %.1f us; route planning over it: p50 %.2f ms, p90 %.2f ms (target p50 <= 5 ms: %s)%n",
                    percentile(lookupUs, 0.5), percentile(planMs, 0.5), percentile(planMs, 0.9), percentile(planMs, 0.5) <= 5 ? "met" : "NOT met");
            o.printf(Locale.ROOT, "  one %d s announce interval, every record changed: %.0f puts in %.1f s (%.0f puts/s), %.0f bytes/put in, "
                    + "client bytes in %.0f B/s, out %.0f B/s (watch events to %d watchers)%n", interval, puts, intervalS, puts / intervalS,
                    puts > 0 ? in / puts : 0, in / intervalS, out / intervalS, watchers);
            double keepAlives = records * 3.0 / ttl;
            o.printf(Locale.ROOT, "  on paper, a lease per server: %d records / %d s = %.0f puts/s at most (unchanged records are not written) "
                    + "+ %d / (%d s / 3) = %.0f keep-alives/s = %.0f requests/s; %.0f B/s in at the bytes/put measured; "
                    + "each watcher receives every put: %.0f B/s out per watcher%n", records, interval, (double) records / interval, records, ttl,
                    keepAlives, (double) records / interval + keepAlives, puts > 0 ? (double) records / interval * in / puts : 0,
                    puts > 0 ? out / intervalS / watchers : 0);
            return 0;
        } finally {
            opened.forEach(Directory::close); // withdrawn while etcd still runs
        }
    }

    private static Directory open(List<Directory> opened, URI uri) {
        var d = Catena.directory(uri);
        opened.add(d);
        return d;
    }

    interface Work {
        void run(int index, Directory d) throws Exception;
    }

    private static void inParallel(List<Directory> dirs, Work work) throws Exception {
        try (var pool = Executors.newFixedThreadPool(dirs.size())) {
            List<java.util.concurrent.Future<?>> fs = new ArrayList<>();
            for (int a = 0; a < dirs.size(); a++) {
                int i = a;
                fs.add(pool.submit(() -> {
                    work.run(i, dirs.get(i));
                    return null;
                }));
            }
            for (var f : fs) f.get();
        }
    }

    private static void sleepNanos(long nanos) {
        try {
            Thread.sleep(Duration.ofNanos(Math.max(0, nanos)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** When the last watcher saw {@code key}. */
    private static long waitForAll(Map<Integer, Map<String, Long>> seenAt, String key, long deadline) throws InterruptedException {
        while (true) {
            long last = 0;
            boolean all = true;
            for (var m : seenAt.values()) {
                Long at = m.get(key);
                if (at == null) {
                    all = false;
                    break;
                }
                last = Math.max(last, at);
            }
            if (all) return last;
            if (System.nanoTime() > deadline) throw new IllegalStateException("a change did not reach every watcher within 10 s");
            Thread.sleep(0, 200_000);
        }
    }
}

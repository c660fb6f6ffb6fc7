package dev.catena.samples.cli;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;
import dev.catena.core.Catena;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

import static dev.catena.samples.cli.CatenaLauncherIT.MODEL;
import static dev.catena.samples.cli.CatenaLauncherIT.catena;
import static dev.catena.samples.cli.OracleCommandIT.find;
import static dev.catena.samples.cli.OracleCommandIT.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 13's acceptance with real processes: a 3-member etcd cluster and 6 {@code ./catena server
 * --num-blocks 2} processes (no {@code --blocks}) on the demo model. They cover it and a client's greedy
 * tokens equal {@code generate --local}'s; two servers killed with SIGKILL during a generation leave
 * the directory within TTL + 1 s, the rest move to cover every block, and the generation ends with the
 * same tokens; an etcd member killed during a generation stops neither routing nor announcing; a server
 * that joins then takes the weakest span.
 */
class EtcdSwarmAcceptanceIT {
    static final int N_LAYER = 5;
    static final int SERVERS = 6;
    static final int NUM_BLOCKS = 2;
    static final int TTL_S = 2;
    /**
     * The local reference's length. Every run has this context, so a run of n tokens is its first n
     * (greedy): the generations that are killed into are sized from the first one's speed to last ~6 s.
     */
    static final int MAX_TOKENS = 1000;
    static final String CTX = "2048";

    @Test
    void aSwarmOfSixCoversTheModelThroughKillsAndAnEtcdMemberDeath(@TempDir Path tmp) throws Exception {
        long seed = Long.getLong("catena.test.seed", System.nanoTime());
        long t0 = System.nanoTime();
        var rnd = new Random(seed);
        String model = Catena.modelId(MODEL);
        var local = catena("generate", "--local", "--model", MODEL.toString(), "--prompt", "Once upon a time", "-n",
                String.valueOf(MAX_TOKENS), "--ctx", CTX, "--ignore-eos", "--greedy", "--json");
        assertEquals(0, local.exit(), local.err());
        int[] reference = tokens(local.out());
        List<CatenaProcess> servers = new ArrayList<>();
        try (var etcd = EtcdCluster.start(tmp, 3); Directory view = Catena.directory(etcd.uri())) {
            try {
                String uri = etcd.uri().toString();
                for (int i = 0; i < SERVERS; i++) servers.add(CatenaProcess.server(serverArgs(uri))); // each sees those before
                await(() -> view.servers(model).size() == SERVERS && uncovered(view.servers(model)).isEmpty(), 15,
                        "six servers cover the model: " + view.servers(model) + "; seed " + seed);
                System.out.printf("acceptance: %.0f s: ", (System.nanoTime() - t0) / 1e9);
                System.out.println("spans chosen " + servers.stream().map(s -> Arrays.toString(s.blocks())).toList());

                long fullKv = view.servers(model).stream().mapToLong(ServerRecord::freeKvTokens).max().orElseThrow(); // no session yet
                var r = catena(generateArgs(uri, 100));
                assertEquals(0, r.exit(), r.err());
                assertArrayEquals(Arrays.copyOf(reference, 100), tokens(r.out()), "greedy tokens through the swarm equal --local's");
                double tokensPerS = Double.parseDouble(find(r.out(), "\"tokens_per_s\":([0-9.]+)"));
                int n = (int) Math.max(300, Math.min(MAX_TOKENS, tokensPerS * 6));
                int[] expected = Arrays.copyOf(reference, n);

                // Two servers of the least-covered block, killed while the client holds a session on one of them.
                await(() -> view.servers(model).stream().allMatch(rec -> rec.freeKvTokens() == fullKv), 10, "the sessions were closed");
                List<ServerRecord> before = view.servers(model);
                int weakest = leastCovered(before);
                List<CatenaProcess> victims = servers.stream()
                        .filter(s -> before.stream().anyMatch(rec -> rec.address().equals(s.address()) && covers(rec, weakest)))
                        .limit(2).collect(Collectors.toCollection(ArrayList::new));
                for (CatenaProcess s : servers) if (victims.size() < 2 && !victims.contains(s)) victims.add(s);
                Set<String> victimAddresses = victims.stream().map(CatenaProcess::address).collect(Collectors.toSet());
                var gen = CatenaProcess.start(generateArgs(uri, n, "--await-coverage-s", "60"));
                await(() -> view.servers(model).stream().anyMatch(rec -> victimAddresses.contains(rec.address()) && rec.freeKvTokens() < fullKv),
                        60, "the client opened a session on " + victimAddresses + "; seed " + seed);
                for (CatenaProcess v : victims) v.kill();
                long killed = System.nanoTime();
                assertTrue(gen.process.isAlive(), "the generation was still running when its servers were killed");
                await(() -> view.servers(model).stream().noneMatch(rec -> victimAddresses.contains(rec.address())), TTL_S + 1,
                        "the killed servers' records go within TTL + 1 s: " + view.servers(model) + "; seed " + seed);
                double goneS = (System.nanoTime() - killed) / 1e9;
                await(() -> uncovered(view.servers(model)).isEmpty(), 30,
                        "the other servers move to cover every block: " + view.servers(model) + "; seed " + seed);
                double coveredS = (System.nanoTime() - killed) / 1e9;
                assertEquals(0, gen.await(180), gen.err());
                assertArrayEquals(expected, tokens(gen.out()), "the generation through the kills has --local's tokens; seed " + seed);
                assertTrue(victimAddresses.stream().anyMatch(gen.err()::contains), "the client failed over from a killed server:\n" + gen.err());
                servers.removeAll(victims);
                System.out.printf("acceptance: %.0f s: killed %s (block %d's servers) during a %d-token generation; records gone %.1f s "
                        + "and every block covered %.1f s after the kill%n", (System.nanoTime() - t0) / 1e9, victimAddresses, weakest, n, goneS, coveredS);

                // An etcd member killed while a client generates: routing goes on, and so do announcing and keep-alives.
                await(() -> view.servers(model).stream().allMatch(rec -> rec.freeKvTokens() == fullKv), 10, "the sessions were closed");
                var gen2 = CatenaProcess.start(generateArgs(uri, n, "--await-coverage-s", "60"));
                await(() -> view.servers(model).stream().anyMatch(rec -> rec.freeKvTokens() < fullKv), 60, "the client opened its sessions");
                int member = rnd.nextInt(3);
                etcd.members.get(member).kill();
                long memberKilled = System.nanoTime();
                assertTrue(gen2.process.isAlive(), "the generation was still running when etcd member m" + member + " was killed");
                assertEquals(0, gen2.await(180), gen2.err());
                assertArrayEquals(expected, tokens(gen2.out()), "routing goes on with etcd member m" + member + " dead; seed " + seed);
                URI survivors = URI.create("etcd://" + etcd.members.stream().filter(m -> m.isAlive()).map(m -> m.endpoint())
                        .collect(Collectors.joining(",")));
                try (Directory fresh = Catena.directory(survivors)) {
                    long sinceKill = (System.nanoTime() - memberKilled) / 1_000_000;
                    if (sinceKill < (TTL_S + 1) * 1000L) Thread.sleep((TTL_S + 1) * 1000L - sinceKill);
                    await(() -> currentAddresses(servers).equals(addresses(fresh.servers(model))), 15,
                            "the servers' leases live on past their TTL with m" + member + " dead: " + fresh.servers(model) + "; seed " + seed);

                    var lastChange = new AtomicLong(System.nanoTime());
                    try (var w = fresh.watch(model, list -> lastChange.set(System.nanoTime()))) {
                        await(() -> System.nanoTime() - lastChange.get() > 2_000_000_000L && uncovered(fresh.servers(model)).isEmpty(), 30,
                                "the swarm settles: " + fresh.servers(model));
                    }
                    List<ServerRecord> settled = fresh.servers(model);
                    var joiner = CatenaProcess.server(serverArgs(uri)); // given all three members, one dead
                    servers.add(joiner);
                    List<ServerRecord> atJoin = fresh.servers(model).stream().filter(rec -> !rec.address().equals(joiner.address())).toList();
                    var weakestSpans = Set.copyOf(List.of(weakestStart(settled), weakestStart(atJoin)));
                    assertTrue(weakestSpans.contains(joiner.blocks()[0]), "the joining server takes the weakest span (starting at "
                            + weakestSpans + "), not " + Arrays.toString(joiner.blocks()) + ": " + settled + "; seed " + seed);
                    await(() -> addresses(fresh.servers(model)).contains(joiner.address()), TTL_S + 1,
                            "a server announces with an etcd member dead; seed " + seed);
                    System.out.printf("acceptance: %.0f s: etcd member m%d killed mid-generation; the joiner took blocks %s of %s%n",
                            (System.nanoTime() - t0) / 1e9, member,
                            Arrays.toString(joiner.blocks()), perBlock(settled));
                }
            } finally {
                for (CatenaProcess s : servers.reversed()) s.close(); // while etcd runs: they withdraw at once
            }
        }
    }

    static String[] serverArgs(String uri) {
        return new String[] {"--model", MODEL.toString(), "--num-blocks", String.valueOf(NUM_BLOCKS), "--directory", uri,
                "--lease-ttl-s", String.valueOf(TTL_S), "--announce-every-s", "1", "--rebalance-every-s", "1", "--threads", "1"};
    }

    static String[] generateArgs(String uri, int n, String... more) {
        var args = new ArrayList<>(List.of("generate", "--directory", uri, "--model", MODEL.toString(), "--prompt", "Once upon a time",
                "-n", String.valueOf(n), "--ctx", CTX, "--ignore-eos", "--greedy", "--json"));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    static boolean covers(ServerRecord r, int block) {
        return r.span().start() <= block && block < r.span().end();
    }

    static int[] tokens(String json) {
        return ints(find(json, "\"tokens\":\\[([^\\]]*)\\]"));
    }

    static List<Integer> uncovered(List<ServerRecord> records) {
        List<Integer> gaps = new ArrayList<>();
        for (int b = 0; b < N_LAYER; b++) {
            int block = b;
            if (records.stream().noneMatch(r -> covers(r, block))) gaps.add(b);
        }
        return gaps;
    }

    static int leastCovered(List<ServerRecord> records) {
        int best = 0;
        long fewest = Long.MAX_VALUE;
        for (int b = 0; b < N_LAYER; b++) {
            int block = b;
            long n = records.stream().filter(r -> covers(r, block)).count();
            if (n < fewest) {
                fewest = n;
                best = b;
            }
        }
        return best;
    }

    /**
     * Per block, the summed steps/s of the servers covering it; one that has not measured yet counts as the
     * median of those that have (1 when none has), as the block selection (Petals') counts it.
     */
    static double[] perBlockThroughput(List<ServerRecord> records) {
        double[] known = records.stream().mapToDouble(ServerRecord::throughput).filter(t -> t > 0).sorted().toArray();
        double unknown = known.length == 0 ? 1 : known[known.length / 2];
        double[] t = new double[N_LAYER];
        for (ServerRecord r : records) {
            for (int b = r.span().start(); b < r.span().end(); b++) t[b] += r.throughput() > 0 ? r.throughput() : unknown;
        }
        return t;
    }

    /** The start of the weakest span: the window whose sorted per-block throughputs are smallest. */
    static int weakestStart(List<ServerRecord> records) {
        double[] t = perBlockThroughput(records);
        int best = 0;
        double[] bestWindow = null;
        for (int s = 0; s + NUM_BLOCKS <= N_LAYER; s++) {
            double[] w = Arrays.copyOfRange(t, s, s + NUM_BLOCKS);
            Arrays.sort(w);
            if (bestWindow == null || Arrays.compare(w, bestWindow) < 0) {
                best = s;
                bestWindow = w;
            }
        }
        return best;
    }

    static String perBlock(List<ServerRecord> records) {
        return Arrays.stream(perBlockThroughput(records)).mapToObj(t -> String.format("%.0f", t))
                .collect(Collectors.joining(" ", "per-block steps/s [", "]"));
    }

    static Set<String> addresses(List<ServerRecord> records) {
        return records.stream().map(ServerRecord::address).collect(Collectors.toSet());
    }

    static Set<String> currentAddresses(List<CatenaProcess> servers) {
        return servers.stream().map(CatenaProcess::address).collect(Collectors.toSet());
    }

    static void await(BooleanSupplier condition, double seconds, String what) throws InterruptedException {
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) Thread.sleep(20);
        assertTrue(condition.getAsBoolean(), what);
    }
}

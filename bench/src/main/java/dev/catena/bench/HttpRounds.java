package dev.catena.bench;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** What {@code bench http} measures of one generation, and its summaries over the rounds: each side, and HTTP against in process. */
final class HttpRounds {
    private HttpRounds() {
    }

    /**
     * One generation: its tokens, time to first token, tokens/s (from the call to the stream's end), the decode rate
     * (tokens after the first over the time from the first to the last), CPU time per token of the process's threads
     * (and per group of threads: names with their digits left out), and its text.
     */
    record Timing(int tokens, double ttftMs, double tokensPerSecond, double decodeTokensPerSecond, double cpuMsPerToken,
                  Map<String, Double> cpuByThread, String text) {
    }

    /**
     * Medians and spread (min, max) over the measured rounds; {@code cpuMsPerTokenByThread}: the mean over the rounds, per
     * group of threads using at least 0.01 ms a token.
     */
    record Side(Spread tokensPerSecond, Spread decodeTokensPerSecond, Spread ttftMs, Spread cpuMsPerToken,
                Map<String, Double> cpuMsPerTokenByThread) {
    }

    record Spread(double median, double min, double max) {
        static Spread of(double[] v) {
            return new Spread(ComputeBench.median(v), Arrays.stream(v).min().orElseThrow(), Arrays.stream(v).max().orElseThrow());
        }
    }

    /**
     * Per round: HTTP tokens/s over in-process tokens/s (target >= 0.97), the same for the decode rate (the time to first
     * token, which has a target of its own, left out), HTTP's time to first token minus the
     * in-process one in ms (target <= 2), and HTTP's process CPU time per token over the in-process one (what the HTTP
     * layer costs in work, whatever else the machine runs). {@code throughputOfBests} and {@code ttftOverOfBestsMs}
     * compare each side at its best over the rounds (highest tokens/s, lowest time to first token): on a shared machine
     * a round is slowed by whatever else runs then, which the best rounds of both sides escaped alike.
     */
    record Ratio(Spread throughput, Spread decodeThroughput, Spread ttftOverMs, Spread cpuPerToken, double throughputOfBests,
                 double ttftOverOfBestsMs, boolean throughputTargetMet, boolean ttftTargetMet) {
        static Ratio of(List<Timing> local, List<Timing> remote) {
            int n = local.size();
            double[] ratio = new double[n];
            double[] decode = new double[n];
            double[] ttftOver = new double[n];
            double[] cpu = new double[n];
            for (int i = 0; i < n; i++) {
                ratio[i] = remote.get(i).tokensPerSecond() / local.get(i).tokensPerSecond();
                decode[i] = remote.get(i).decodeTokensPerSecond() / local.get(i).decodeTokensPerSecond();
                ttftOver[i] = remote.get(i).ttftMs() - local.get(i).ttftMs();
                cpu[i] = remote.get(i).cpuMsPerToken() / local.get(i).cpuMsPerToken();
            }
            Spread throughput = Spread.of(ratio);
            Spread over = Spread.of(ttftOver);
            return new Ratio(throughput, Spread.of(decode), over, Spread.of(cpu), Spread.of(tps(remote)).max() / Spread.of(tps(local)).max(),
                    Spread.of(ttft(remote)).min() - Spread.of(ttft(local)).min(), throughput.median() >= 0.97, over.median() <= 2.0);
        }
    }

    private static double[] tps(List<Timing> t) {
        return t.stream().mapToDouble(Timing::tokensPerSecond).toArray();
    }

    private static double[] ttft(List<Timing> t) {
        return t.stream().mapToDouble(Timing::ttftMs).toArray();
    }

    static Side side(List<Timing> t) {
        Map<String, Double> byThread = new TreeMap<>();
        for (Timing x : t) x.cpuByThread().forEach((k, v) -> byThread.merge(k, v / t.size(), Double::sum));
        byThread.values().removeIf(v -> v < 0.01);
        byThread.replaceAll((k, v) -> Math.round(v * 1000) / 1000.0);
        return new Side(Spread.of(tps(t)), Spread.of(t.stream().mapToDouble(Timing::decodeTokensPerSecond).toArray()), Spread.of(ttft(t)), Spread.of(t.stream().mapToDouble(Timing::cpuMsPerToken).toArray()), byThread);
    }

    /**
     * CPU time of this process's live threads by group (swarm servers, client, HTTP server and HTTP client alike;
     * the native compute runs on them too), at nanosecond resolution; the JVM's own GC and JIT threads are not
     * counted.
     */
    static Map<String, Long> cpuByThread() {
        var threads = ManagementFactory.getThreadMXBean();
        Map<String, Long> byGroup = new HashMap<>();
        for (var info : threads.getThreadInfo(threads.getAllThreadIds())) {
            if (info == null) continue; // ended meanwhile
            long cpu = threads.getThreadCpuTime(info.getThreadId());
            if (cpu > 0) byGroup.merge(info.getThreadName().replaceAll("[0-9]+", "N"), cpu, Long::sum);
        }
        return byGroup;
    }

    /** A generation of {@code n} tokens started at {@code t0}, first token at {@code first}, last at {@code last}, ended at {@code t1}. */
    static Timing timing(int n, long t0, long first, long last, long t1, Map<String, Long> cpu0, CharSequence text) {
        Map<String, Double> perToken = new TreeMap<>();
        cpuByThread().forEach((k, v) -> perToken.put(k, (v - cpu0.getOrDefault(k, 0L)) / 1e6 / n));
        double cpu = perToken.values().stream().mapToDouble(Double::doubleValue).sum();
        double decode = n > 1 && last > first ? (n - 1) / ((last - first) / 1e9) : 0; // 0: one token, no rate
        return new Timing(n, (first - t0) / 1e6, n / ((t1 - t0) / 1e9), decode, cpu, perToken, text.toString());
    }
}

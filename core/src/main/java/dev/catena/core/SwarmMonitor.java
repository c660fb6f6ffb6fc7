package dev.catena.core;

import dev.catena.api.BlockRange;
import dev.catena.core.directory.ServerRecord;
import dev.catena.transport.proto.ServerInfo;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * The servers part of a swarm client's {@link SwarmStatus}: a background probe asks every server the directory
 * lists for its {@code ServerInfo}, all at once, each given {@code timeout}, every {@code every}, and keeps what
 * it saw. It starts at the first {@link #servers()} and idles once nobody asked for a minute, so a client whose
 * status is never read never probes; a generation never waits for it.
 */
final class SwarmMonitor implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(SwarmMonitor.class.getName());
    private static final long IDLE_NANOS = TimeUnit.MINUTES.toNanos(1);

    /** What one probe saw. */
    record Snapshot(Instant time, List<SwarmStatus.Server> servers) {
    }

    private record Sample(long steps, long nanos) {
    }

    private final Supplier<List<ServerRecord>> directory;
    private final BiFunction<String, Duration, ServerInfo> info;
    private final Duration every;
    private final Duration timeout;
    private final Map<String, Sample> previous = new ConcurrentHashMap<>();
    private final CountDownLatch first = new CountDownLatch(1);
    private volatile Snapshot last = new Snapshot(Instant.EPOCH, List.of());
    private volatile List<ServerRecord> known = List.of();
    private volatile long askedNanos;
    private ScheduledExecutorService probe;
    private boolean closed;

    /**
     * @param directory the servers to probe (the directory's records of the model)
     * @param info      asks a server for its {@code ServerInfo}, giving up after the duration; throws when it cannot
     */
    SwarmMonitor(Supplier<List<ServerRecord>> directory, BiFunction<String, Duration, ServerInfo> info, Duration every,
                 Duration timeout) {
        this.directory = directory;
        this.info = info;
        this.every = every;
        this.timeout = timeout;
    }

    /** The latest probe's servers; the first call starts the probe and waits for its first round (at most the timeout). */
    Snapshot servers() {
        askedNanos = System.nanoTime();
        synchronized (this) {
            if (probe == null && !closed) {
                probe = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("catena-status-probe").factory());
                probe.scheduleWithFixedDelay(this::probeIfAsked, 0, every.toMillis(), TimeUnit.MILLISECONDS);
            }
        }
        try {
            first.await(timeout.toMillis() + 500, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return last;
    }

    private void probeIfAsked() {
        if (System.nanoTime() - askedNanos > IDLE_NANOS && first.getCount() == 0) return;
        try {
            last = probeOnce();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "status probe failed: " + e.getMessage());
        } finally {
            first.countDown();
        }
    }

    /** Asks every server at once; one that does not answer within the timeout is unreachable. */
    Snapshot probeOnce() {
        try {
            known = List.copyOf(directory.get());
        } catch (RuntimeException e) { // the directory may be down: probe the servers it listed last
            LOG.log(System.Logger.Level.INFO, "directory lookup failed, probing the servers it listed last: " + e.getMessage());
        }
        List<ServerRecord> records = known;
        List<SwarmStatus.Server> servers = new ArrayList<>();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<SwarmStatus.Server>> asked = new ArrayList<>();
            for (ServerRecord r : records) asked.add(pool.submit(() -> ask(r)));
            for (int i = 0; i < records.size(); i++) {
                try {
                    servers.add(asked.get(i).get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS));
                } catch (Exception e) {
                    asked.get(i).cancel(true);
                    servers.add(unreachable(records.get(i), "no answer: " + e));
                }
            }
        }
        servers.sort(Comparator.comparingInt((SwarmStatus.Server s) -> s.span().start()).thenComparingInt(s -> s.span().end())
                .thenComparing(SwarmStatus.Server::address));
        return new Snapshot(Instant.now(), servers);
    }

    private SwarmStatus.Server ask(ServerRecord r) {
        long started = System.nanoTime();
        ServerInfo i;
        try {
            i = info.apply(r.address(), timeout);
        } catch (RuntimeException e) {
            previous.remove(r.address());
            return unreachable(r, e.getMessage());
        }
        long now = System.nanoTime();
        Map<String, Long> c = i.getCountersMap();
        long steps = c.getOrDefault("steps", 0L);
        long computeUs = c.getOrDefault("compute_us", 0L);
        Sample before = previous.put(r.address(), new Sample(steps, now));
        double rate = before == null || now <= before.nanos() ? 0 : Math.max(0, steps - before.steps()) * 1e9 / (now - before.nanos());
        double throughput = computeUs > 0 ? steps * 1e6 / computeUs : r.throughput();
        int sessions = c.containsKey("sessions_open") ? c.get("sessions_open").intValue() : -1;
        return new SwarmStatus.Server(r.address(), new BlockRange(i.getStart(), i.getEnd()), state(r.state()), true,
                (now - started) / 1e6, throughput, rate, i.getKvBytesFree(), i.getKvBytesTotal(), sessions,
                c.getOrDefault("pushes_used", 0L), c.getOrDefault("mismatched", 0L), "");
    }

    private static SwarmStatus.Server unreachable(ServerRecord r, String why) {
        return new SwarmStatus.Server(r.address(), r.span(), state(r.state()), false, 0, r.throughput(), 0, 0, 0, -1, 0, 0,
                why == null ? "unreachable" : why);
    }

    private static SwarmStatus.State state(ServerRecord.State s) {
        return switch (s) {
            case ONLINE -> SwarmStatus.State.ONLINE;
            case JOINING -> SwarmStatus.State.JOINING;
            case OFFLINE -> SwarmStatus.State.OFFLINE;
        };
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (probe != null) probe.shutdownNow();
    }
}

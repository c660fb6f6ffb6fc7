package dev.catena.bench;

import dev.catena.core.CatenaServer;
import dev.catena.core.LocalSwarm;

import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/** {@code bench http}'s second part: many streaming requests held at once, with the memory they cost. */
final class StreamsHeld {
    record Concurrency(int connections, int tokensEach, int completed, int failed, int maxStreaming, int maxServerSessions,
                       int serverSessionsAfter, double seconds, Memory heapBytes, Memory rssBytes, long heapBytesPerConnection) {
    }

    record Memory(long before, long peakDuring, long after) {
    }

    private StreamsHeld() {
    }

    /** {@code connections} streaming requests at once, each on its own connection; memory sampled while they run. */
    static Concurrency concurrent(HttpClient http, URI uri, LocalSwarm swarm, int connections, int tokensEach) throws Exception {
        long heapBefore = settledHeap();
        long rssBefore = ProcessMemory.residentBytes();
        var streaming = new AtomicInteger();
        var maxStreaming = new AtomicInteger();
        var maxSessions = new AtomicInteger();
        var peakHeap = new AtomicLong(heapBefore);
        var peakRss = new AtomicLong(rssBefore);
        var completed = new AtomicInteger();
        var failed = new AtomicInteger();
        var start = new CountDownLatch(1);
        var done = new CountDownLatch(1);
        Thread sampler = Thread.ofPlatform().daemon().name("http-bench-sampler").start(() -> {
            var heap = ManagementFactory.getMemoryMXBean();
            while (done.getCount() > 0) {
                peakHeap.accumulateAndGet(heap.getHeapMemoryUsage().getUsed(), Math::max);
                peakRss.accumulateAndGet(ProcessMemory.residentBytes(), Math::max);
                maxSessions.accumulateAndGet(swarm.servers().stream().mapToInt(CatenaServer::openSessions).max().orElse(0), Math::max);
                try {
                    done.await(20, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        long t0;
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> all = new ArrayList<>();
            for (int i = 0; i < connections; i++) {
                all.add(pool.submit(() -> {
                    start.await();
                    var req = HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(HttpBench.body(tokensEach))).build();
                    HttpResponse<Stream<String>> resp = http.send(req, HttpResponse.BodyHandlers.ofLines());
                    boolean counted = false;
                    boolean ended = false;
                    try (Stream<String> lines = resp.body()) {
                        for (Iterator<String> it = lines.iterator(); it.hasNext(); ) {
                            String line = it.next();
                            if (!line.startsWith("data: ")) continue;
                            if (!counted) {
                                counted = true;
                                maxStreaming.accumulateAndGet(streaming.incrementAndGet(), Math::max);
                            }
                            if (line.equals("data: [DONE]")) {
                                ended = true;
                                break;
                            }
                        }
                    } finally {
                        if (counted) streaming.decrementAndGet();
                    }
                    if (resp.statusCode() == 200 && ended) completed.incrementAndGet();
                    else failed.incrementAndGet();
                    return null;
                }));
            }
            t0 = System.nanoTime();
            start.countDown();
            for (Future<?> f : all) {
                try {
                    f.get(10, TimeUnit.MINUTES);
                } catch (java.util.concurrent.ExecutionException e) {
                    failed.incrementAndGet();
                }
            }
        } finally {
            done.countDown();
            sampler.join();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        // The servers free a stream's sessions as it ends; give the last closes a moment before counting.
        int sessionsAfter = Integer.MAX_VALUE;
        for (int i = 0; i < 100 && sessionsAfter > 0; i++) {
            sessionsAfter = swarm.servers().stream().mapToInt(CatenaServer::openSessions).sum();
            if (sessionsAfter > 0) Thread.sleep(20);
        }
        long heapAfter = settledHeap();
        long rssAfter = ProcessMemory.residentBytes();
        return new Concurrency(connections, tokensEach, completed.get(), failed.get(), maxStreaming.get(), maxSessions.get(), sessionsAfter,
                seconds, new Memory(heapBefore, peakHeap.get(), heapAfter), new Memory(rssBefore, peakRss.get(), rssAfter),
                (peakHeap.get() - heapBefore) / connections);
    }

    /** Heap in use after a full collection (System.gc() is honoured by the JDK's collectors unless disabled). */
    private static long settledHeap() throws InterruptedException {
        System.gc();
        Thread.sleep(100);
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}

package dev.catena.bench;

import dev.catena.api.BlockRange;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Identity;
import dev.catena.core.server.SwarmServer;
import dev.catena.transport.spi.Transport;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** One server of a swarm benchmark, in this JVM or in its own ({@link ServerProcess}). */
interface BenchServer extends AutoCloseable {
    String address();

    BlockRange blocks();

    /** Pushes to the peer clients name {@code named} go to {@code via} instead (a proxy in front of it). */
    void route(String named, String via);

    /** Zeroes the counters, e.g. after a warm-up. */
    void reset();

    /** {@code ServerInfo}'s counters: {@code steps}, {@code compute_us}, {@code turnaround_p50_us}, ... */
    Map<String, Long> counters();

    @Override
    void close();

    /** A server in this JVM, on a transport it shares with the others. */
    static BenchServer inProcess(Path model, String id, BlockRange blocks, int threads, SpanBackend backend, Transport transport,
                                 Identity identity) {
        Map<String, String> routes = new ConcurrentHashMap<>();
        SwarmServer server = SwarmServer.start(new SwarmServer.Config(model, id, blocks, SpanOptions.cpu(threads), "127.0.0.1:0", 1L << 30,
                Duration.ofMinutes(5), 1, name -> routes.getOrDefault(name, name)), backend, transport, identity);
        return new BenchServer() {
            @Override public String address() { return server.address(); }
            @Override public BlockRange blocks() { return server.blocks(); }
            @Override public void route(String named, String via) { routes.put(named, via); }
            @Override public void reset() { server.counters().reset(); }
            @Override public Map<String, Long> counters() { return server.counters().snapshot(); }
            @Override public void close() { server.close(); }
        };
    }
}

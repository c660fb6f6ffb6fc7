package dev.catena.core.hostile;

import dev.catena.api.BlockRange;
import dev.catena.core.GenerationRequest;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.CatenaClient;
import dev.catena.core.client.SwarmInference;
import dev.catena.core.protocol.Protocol;
import dev.catena.core.server.SwarmServer;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 14's attack at CI scale against a real Netty server on loopback: maximal frames announced
 * before Hello, control frames held partial after it on a hundred connections, garbage, silent
 * peers and dripped headers, all at once. The server's buffered inbound bytes stay within its
 * budget, an honest client still gets the reference tokens, and nothing leaks afterwards. Seeded:
 * {@code -Dcatena.test.seed=N} replays a failure.
 */
class HostileConnectionsTest {
    static final Path MODEL = Path.of(System.getProperty("catena.models.dir", "../models"), "stories260K.gguf")
            .toAbsolutePath().normalize();
    static final int MAX_FRAME = 1 << 20;
    static final long BUDGET = 4L << 20;
    /** A read in flight per event loop may pass the budget for an instant (64 KiB each at most). */
    static final long SLACK = 1L << 20;

    final long seed = Long.getLong("catena.test.seed", System.nanoTime());

    @Test
    void boundedMemoryAndAnHonestClientUnderAttack() throws Exception {
        System.out.println("HostileConnectionsTest seed " + seed);
        Random random = new Random(seed);
        List<Integer> expected = expectedTokens();
        TransportConfig config = new TransportConfig(MAX_FRAME, 2).withInboundBudgetBytes(BUDGET)
                .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(1)).withConnectionCaps(4096, 1024);
        SpanBackend backend = Catena.spanBackend(null);
        int nLayer = backend.inspect(MODEL).nLayer();
        List<Socket> attackers = new ArrayList<>();
        AtomicLong maxHeld = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        try (Transport transport = Catena.transport("netty").create(config);
             SwarmServer server = SwarmServer.start(new SwarmServer.Config(MODEL, SwarmInference.modelId(MODEL),
                     new BlockRange(0, nLayer), SpanOptions.cpu(1), "127.0.0.1:0", 1L << 30, Duration.ofMinutes(1), 1),
                     backend, transport)) {
            Thread monitor = Thread.ofPlatform().daemon().start(() -> {
                while (!stop.get()) {
                    maxHeld.accumulateAndGet(transport.inboundBytesBuffered(), Math::max);
                    sleep(1);
                }
            });
            String address = server.address();
            // Maximal frames announced before Hello: refused at the prefix, nothing buffered.
            for (int i = 0; i < 200; i++) {
                attackers.add(write(address, ByteBuffer.allocate(4 + 1000).putInt(MAX_FRAME).array()));
            }
            // After Hello: control-sized frames held partial, 6 MiB over a 4 MiB budget.
            byte[] hello = encode(Protocol.hello("attacker"));
            for (int i = 0; i < 100; i++) {
                byte[] partial = new byte[hello.length + 4 + (60 << 10)];
                System.arraycopy(hello, 0, partial, 0, hello.length);
                ByteBuffer.wrap(partial, hello.length, 4).putInt(64 << 10);
                attackers.add(write(address, partial));
            }
            // Garbage, and silent peers.
            for (int i = 0; i < 50; i++) {
                byte[] junk = new byte[1 + random.nextInt(4096)];
                random.nextBytes(junk);
                attackers.add(write(address, junk));
                attackers.add(write(address, new byte[0]));
            }
            // Headers dripped slowly after a Hello.
            List<Socket> drippers = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                drippers.add(write(address, hello));
            }
            attackers.addAll(drippers);
            Thread drip = Thread.ofPlatform().daemon().start(() -> {
                for (int b = 0; b < 20 && !stop.get(); b++) {
                    for (Socket s : drippers) {
                        try {
                            s.getOutputStream().write(0);
                        } catch (IOException droppedByTheServer) {
                            // expected once the frame timeout passes
                        }
                    }
                    sleep(100);
                }
            });

            try (CatenaClient client = Catena.client(MODEL).peers(address).transport("netty").build()) {
                var g = client.generate(GenerationRequest.builder("Once upon a time").maxTokens(expected.size())
                        .greedy().ignoreEos().build());
                assertEquals(expected, g.tokens(), "the honest client's greedy tokens (seed " + seed + ")");
            }
            await(() -> transport.stats().connectionsRefused() >= 100, "the budget and the timeouts to drop attackers");
            stop.set(true);
            drip.join();
            monitor.join();
            System.out.printf("buffered at most %d bytes (budget %d); %s%n", maxHeld.get(), BUDGET, transport.stats());
            assertTrue(maxHeld.get() <= BUDGET + SLACK, "buffered " + maxHeld.get() + " bytes over the budget " + BUDGET);
            assertTrue(transport.stats().framesRefused() >= 200, "maximal frames refused at the prefix: "
                    + transport.stats().framesRefused());
            for (Socket s : attackers) s.close();
            await(() -> server.openSessions() == 0 && server.kvBytesReserved() == 0,
                    server.openSessions() + " sessions, " + server.kvBytesReserved() + " KV bytes left");
            await(() -> transport.inboundBytesBuffered() == 0, "buffered bytes released: " + transport.inboundBytesBuffered());
        } finally {
            stop.set(true);
            for (Socket s : attackers) s.close();
        }
    }

    static List<Integer> expectedTokens() throws IOException {
        String json = Files.readString(MODEL.resolveSibling("stories260K.expected.json"));
        var ids = Pattern.compile("\"generated_token_ids\":\\s*\\[([^]]*)]").matcher(json);
        assertTrue(ids.find());
        return Stream.of(ids.group(1).split(",")).map(String::trim).map(Integer::valueOf).toList();
    }

    static byte[] encode(Frame frame) {
        byte[] h = frame.header().toByteArray();
        return ByteBuffer.allocate(8 + h.length).putInt(4 + h.length).putInt(h.length).put(h).array();
    }

    /** A raw socket to {@code address} that has written {@code bytes} (or as much as the server took). */
    static Socket write(String address, byte[] bytes) throws IOException {
        int colon = address.lastIndexOf(':');
        Socket socket = new Socket(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
        try {
            OutputStream out = socket.getOutputStream();
            out.write(bytes);
            out.flush();
        } catch (IOException closedByTheServer) {
            // refused early: what the test wants
        }
        return socket;
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) Thread.sleep(10);
        assertTrue(condition.getAsBoolean(), what);
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

package dev.catena.core.swarm;

import com.google.protobuf.ByteString;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.client.RemoteSession.Mode;
import dev.catena.testing.CountingBackend;
import dev.catena.transport.proto.CloseSession;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.Hello;
import dev.catena.transport.proto.InfoRequest;
import dev.catena.transport.proto.OpenSession;
import dev.catena.transport.proto.PeerRef;
import dev.catena.transport.proto.Push;
import dev.catena.transport.proto.Step;
import dev.catena.transport.proto.TensorMeta;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A seeded fuzzer sends well-framed but malformed, inconsistent and hostile protocol messages to
 * live servers over TCP while an honest session generates: the servers answer with errors (or
 * drop pushes), never crash, leak no session, and the honest generation equals its solo run.
 */
class ServerFuzzTest {
    static final long SEED = Long.getLong("catena.test.seed", 4242L);
    static final int FRAMES = 10_000;

    @Test
    void malformedMessagesNeverHarmAnHonestSession() throws Exception {
        var backend = new CountingBackend(4);
        Path model = Path.of("counting.gguf");
        var netty = Catena.transportProviders().stream().filter(p -> p.name().equals("netty")).findFirst().orElseThrow();
        try (Transport t = netty.create(TransportConfig.defaults());
             var swarm = new TestSwarm(backend, model, 2, i -> t, t, "127.0.0.1:0", 1L << 26);
             var head = backend.openHead(model, SpanOptions.cpu(1))) {
            int[] solo = swarm.generate(head, Mode.PUSH, "3", 40).tokens();
            var honest = CompletableFuture.supplyAsync(() -> {
                int[] last = null;
                for (int round = 0; round < 20; round++) last = swarm.generate(head, Mode.PUSH, "3", 40).tokens();
                return last;
            });
            var replies = new AtomicLong();
            var random = new Random(SEED);
            List<Connection> fuzzers = new ArrayList<>();
            for (var server : swarm.servers) {
                var fuzzer = t.connect(server.address(), (c, f) -> replies.incrementAndGet(), Duration.ofSeconds(5));
                fuzzer.send(dev.catena.core.protocol.Protocol.hello("fuzz")); // else nothing after it is served
                fuzzers.add(fuzzer);
            }
            for (int i = 0; i < FRAMES; i++) {
                fuzzers.get(random.nextInt(fuzzers.size())).send(fuzzFrame(random, swarm));
            }
            assertArrayEquals(solo, honest.get(), "seed " + SEED + ": the honest generation during the fuzz");
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (replies.get() < FRAMES / 4 && System.nanoTime() < deadline) Thread.sleep(10);
            assertTrue(replies.get() > 0, "the servers answered the fuzzer");
            fuzzers.forEach(Connection::close);
            // Sessions the fuzzer managed to open die with its connections; the honest ones are closed.
            deadline = System.nanoTime() + 10_000_000_000L;
            // A closed session's KV is freed on its own thread after it leaves the table: wait for both.
            while (swarm.servers.stream().anyMatch(s -> s.openSessions() > 0 || s.kvBytesReserved() > 0) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            for (var s : swarm.servers) {
                assertEquals(0, s.openSessions(), "seed " + SEED + ": sessions left on " + s.address());
                assertEquals(0, s.kvBytesReserved(), "seed " + SEED + ": KV left reserved on " + s.address());
                assertTrue(s.counters().errors.get() > 0, "errors were answered: " + s.counters().snapshot());
            }
            // Still serving.
            assertArrayEquals(solo, swarm.generate(head, Mode.RELAY, "3", 40).tokens());
            System.out.printf("fuzz seed %d: %d frames, %d replies, counters %s%n", SEED, FRAMES, replies.get(),
                    swarm.servers.getFirst().counters().snapshot());
        }
    }

    /** One message of a random kind with random, often invalid, contents. */
    static Frame fuzzFrame(Random r, TestSwarm swarm) {
        var e = Envelope.newBuilder().setRequestId(r.nextLong());
        ByteString sid = ByteString.copyFrom(randomBytes(r, r.nextInt(4) == 0 ? 16 : r.nextInt(40)));
        TensorMeta meta = TensorMeta.newBuilder().setDtypeValue(r.nextInt(6) - 1).addShape(r.nextInt(8) == 0 ? -1 : r.nextInt(5))
                .addShape(r.nextInt(3) == 0 ? CountingBackend.N_EMBD : r.nextInt(1 << 20)).build();
        ByteBuffer payload = ByteBuffer.wrap(randomBytes(r, r.nextInt(4) == 0 ? 16 : r.nextInt(300)));
        switch (r.nextInt(8)) {
            case 0 -> e.setHello(Hello.newBuilder().setProtocolVersion(r.nextInt(3)).setAgent("fuzz"));
            case 1 -> e.setOpen(OpenSession.newBuilder().setModelId(r.nextBoolean() ? "counting.gguf" : "other")
                    .setStart(r.nextInt(4)).setEnd(r.nextInt(5)).setMaxLength(r.nextInt(6) == 0 ? -1 : r.nextInt(64))
                    .setWireDtypeValue(r.nextInt(6) - 1).setLastOnly(r.nextBoolean())
                    .setNext(PeerRef.newBuilder().setAddress(r.nextBoolean() ? swarm.servers.getLast().address() : "")
                            .setSessionId(sid)));
            case 2, 3 -> e.setStep(Step.newBuilder().setSessionId(sid).setStep(r.nextLong()).setPosition(r.nextInt())
                    .setHidden(meta).setClearNext(r.nextBoolean()));
            case 4, 5 -> e.setPush(Push.newBuilder().setSessionId(sid).setStep(r.nextLong()).setPosition(r.nextInt())
                    .setHidden(meta).setSender("fuzz"));
            case 6 -> e.setClose(CloseSession.newBuilder().setSessionId(sid));
            default -> {
                if (r.nextBoolean()) e.setInfo(InfoRequest.getDefaultInstance()); // else: no body at all
            }
        }
        return new Frame(e.build(), payload);
    }

    static byte[] randomBytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }
}

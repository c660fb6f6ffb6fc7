package dev.catena.core.swarm;

import dev.catena.testing.CorruptingTransport;
import com.google.protobuf.ByteString;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.client.RemoteSession.Mode;
import dev.catena.core.SwarmException;
import dev.catena.testing.CountingBackend;
import dev.catena.core.protocol.Protocol;
import dev.catena.core.protocol.Tensors;
import dev.catena.transport.proto.DType;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.Push;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PROTOCOL.md's push, validation and admission rules, on the counting backend and the in-memory transport. */
class SwarmProtocolTest {
    static final Path MODEL = Path.of("counting.gguf");

    static Transport memory() {
        return Catena.transportProviders().stream().filter(p -> p.name().equals("memory")).findFirst().orElseThrow()
                .create(TransportConfig.defaults());
    }

    /** Greedy tokens of the counting model through a swarm whose first server corrupts the pushes chosen. */
    static int[] runWithCorruption(java.util.function.LongPredicate corrupt, long[] corruptedOut, List<Long> inconsistent,
                                   long[] correctedOut) {
        var backend = new CountingBackend(6);
        var liar = dev.catena.core.Identity.generate();
        try (Transport clean = memory(); Transport client = memory()) {
            var bad = new CorruptingTransport(clean, corrupt, liar.privateKey()); // the first server lies, and signs its lies
            try (var swarm = new TestSwarm(backend, MODEL, 3, i -> i == 0 ? bad : clean, client, "memory:0", 1L << 30,
                    i -> i == 0 ? liar : dev.catena.core.Identity.generate());
                 var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
                var g = swarm.generate(head, Mode.PUSH, "3", 12);
                corruptedOut[0] = bad.corrupted.get();
                var s1 = swarm.servers.get(1);
                inconsistent.add(s1.inconsistentSenders().getOrDefault(swarm.servers.get(0).address(), 0L));
                correctedOut[0] = s1.counters().corrected.get();
                // Every correction handed the client the liar's signed push: with its signed result, a proof.
                var proofs = swarm.client.proofs();
                assertEquals(s1.counters().corrected.get() == 0, proofs.isEmpty(), "a correction yields a proof, and only a correction");
                for (var proof : proofs) {
                    var verdict = dev.catena.core.Proofs.verify(proof.toByteArray(), "proof");
                    assertEquals(dev.catena.core.Proofs.Status.PROVED, verdict.status(), verdict.message());
                    assertArrayEquals(liar.publicKey().getEncoded(), verdict.key().getEncoded(), "the liar's key is named");
                }
                assertEquals(0, s1.counters().pushesBadSignature.get(), "the liar signs its lies");
                long pushes = swarm.servers.stream().mapToLong(sv -> sv.counters().pushesSent.get()).sum();
                assertTrue(swarm.bytesServerToServer() <= swarm.bytesClientToServers() + pushes * Protocol.SIGNED_PUSH_OVERHEAD_BYTES,
                        "amplification bound (signatures aside)");
                return g.tokens();
            }
        }
    }

    @Test
    void corruptedPushesAreDetectedCorrectedAndTheSenderRecorded() {
        long[] corrupted = new long[1], corrected = new long[1];
        List<Long> inconsistent = new ArrayList<>();
        int[] clean = runWithCorruption(step -> false, corrupted, inconsistent, corrected);
        assertArrayEquals(new int[]{9, 15, 21, 27, 33, 39, 45, 51, 57, 63, 69, 75}, clean, "6 blocks add 6 per token");
        assertEquals(0, corrupted[0]);

        int[] everyStep = runWithCorruption(step -> true, corrupted, inconsistent, corrected);
        assertArrayEquals(clean, everyStep);
        assertTrue(corrupted[0] >= 12, "every push corrupted: " + corrupted[0]);
        assertEquals(corrupted[0], inconsistent.get(1), "every corruption recorded against the sender");
        assertTrue(corrected[0] >= 1, "results recomputed from the client's copy");

        int[] every7th = runWithCorruption(step -> step % 7 == 0, corrupted, inconsistent, corrected);
        assertArrayEquals(clean, every7th);
        assertEquals(corrupted[0], inconsistent.get(2));
    }

    @Test
    void pushesNotSignedBySenderAreCorrectedCountedAndProveNothing() {
        var backend = new CountingBackend(6);
        try (Transport clean = memory(); Transport client = memory()) {
            var bad = new CorruptingTransport(clean, step -> true); // a man in the middle: cannot sign as the sender
            try (var swarm = new TestSwarm(backend, MODEL, 3, i -> i == 0 ? bad : clean, client, "memory:0", 1L << 30);
                 var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
                var g = swarm.generate(head, Mode.PUSH, "3", 12);
                assertArrayEquals(new int[]{9, 15, 21, 27, 33, 39, 45, 51, 57, 63, 69, 75}, g.tokens());
                var s1 = swarm.servers.get(1);
                assertTrue(bad.corrupted.get() >= 12);
                // Used at once (the signature is checked only when a push proves inconsistent), then recomputed
                // from the client's copy, and its signature found bad when it would have become evidence.
                assertEquals(bad.corrupted.get(), s1.counters().pushesBadSignature.get(), "every altered push's signature found bad");
                assertTrue(s1.counters().corrected.get() + s1.counters().pushesDropped.get() >= bad.corrupted.get(),
                        "every altered push recomputed from the client's copy or dropped as stale");
                assertTrue(swarm.client.proofs().isEmpty(), "a push nobody signed proves nothing");
            }
        }
    }

    /** A push of one row, with no signature, as a peer that is not the session's upstream could send it. */
    private static Frame unsignedPush(byte[] sessionId, long step, int position, float[] row) {
        return new Frame(Envelope.newBuilder().setPush(Push.newBuilder().setSessionId(ByteString.copyFrom(sessionId)).setStep(step)
                .setPosition(position).setHidden(Tensors.meta(DType.F32, 1, row.length))).build(), Tensors.encode(row, DType.F32));
    }

    @Test
    void strayPushesAreDroppedAndCountedNeverAnError() throws Exception {
        var backend = new CountingBackend(4);
        try (Transport t = memory(); var swarm = new TestSwarm(backend, MODEL, 2, i -> t, t, "memory:0", 1L << 30);
             var session = swarm.open(Mode.RELAY, 32)) {
            var target = swarm.servers.get(1);
            var raw = t.connect(target.address(), Protocol.IGNORE_REPLIES, Duration.ofSeconds(2));
            raw.send(Protocol.hello("test"));
            // Unknown session.
            raw.send(unsignedPush(new byte[16], 1, 0, new float[CountingBackend.N_EMBD]));
            session.step(new float[CountingBackend.N_EMBD], 1, 0);
            long before = target.counters().pushesDropped.get();
            // A real session, but a stale step and then a wrong position: both dropped.
            byte[] id = sessionIdOf(target);
            raw.send(unsignedPush(id, 1, 0, new float[CountingBackend.N_EMBD]));
            raw.send(unsignedPush(id, 5, 7, new float[CountingBackend.N_EMBD]));
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (target.counters().pushesDropped.get() < before + 2 && System.nanoTime() < deadline) Thread.sleep(5);
            assertTrue(target.counters().pushesDropped.get() >= 3, target.counters().snapshot().toString());
            assertEquals(0, target.counters().errors.get(), "never an error to anyone");
            // The session is unharmed.
            assertEquals(1 + 4f, session.step(new float[]{1, 0, 0, 0}, 1, 1)[0]);
            raw.close();
        }
    }

    @Test
    void aStalePushThatCannotBeEvidenceIsDroppedWithoutAwaitingItsSignature() throws Exception {
        var backend = new CountingBackend(4);
        try (Transport t = memory(); var swarm = new TestSwarm(backend, MODEL, 2, i -> t, t, "memory:0", 1L << 30);
             var session = swarm.open(Mode.RELAY, 32)) {
            var target = swarm.servers.get(1);
            session.step(new float[CountingBackend.N_EMBD], 1, 0);
            var raw = t.connect(target.address(), Protocol.IGNORE_REPLIES, Duration.ofSeconds(2));
            raw.send(Protocol.hello("test"));
            long dropped = target.counters().pushesDropped.get();
            // Step 1 again, unsigned, at a position the client's copy of step 1 does not have: it contradicts nothing,
            // so it can never be evidence. Awaiting its signature (1 s each, in series) once let a backlog of such
            // pushes stall a session for minutes.
            raw.send(unsignedPush(sessionIdOf(target), 1, 3, new float[CountingBackend.N_EMBD]));
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (target.counters().pushesDropped.get() == dropped && System.nanoTime() < deadline) Thread.sleep(5);
            assertEquals(1 + 4f, session.step(new float[]{1, 0, 0, 0}, 1, 1)[0]); // queued behind the push's handling
            assertEquals(dropped + 1, target.counters().pushesDropped.get());
            assertEquals(0, target.counters().pushesBadSignature.get(), "its signature was never awaited");
            assertEquals(0, target.counters().errors.get());
            raw.close();
        }
    }

    @Test
    void contradictingPushesThatCannotVerifyCostTheSessionNoWait() throws Exception {
        var backend = new CountingBackend(4);
        try (Transport t = memory(); var swarm = new TestSwarm(backend, MODEL, 2, i -> t, t, "memory:0", 1L << 30);
             var session = swarm.open(Mode.RELAY, 32)) {
            var target = swarm.servers.get(1);
            session.step(new float[CountingBackend.N_EMBD], 1, 0);
            var raw = t.connect(target.address(), Protocol.IGNORE_REPLIES, Duration.ofSeconds(2)); // proves no key
            raw.send(Protocol.hello("test"));
            // Ten pushes of step 1 at its position, each contradicting the client's copy: each once waited 1 s, in
            // series, for a trailing signature that could never verify, and the next step waited behind them.
            for (int i = 0; i < 10; i++) {
                raw.send(unsignedPush(sessionIdOf(target), 1, 0, new float[]{i + 7, 0, 0, 0}));
            }
            long deadline = System.nanoTime() + 5_000_000_000L; // all ten taken in (and queued) before the live step
            while (target.counters().pushesReceived.get() < 10 && System.nanoTime() < deadline) Thread.sleep(1);
            long t0 = System.nanoTime();
            assertEquals(1 + 4f, session.step(new float[]{1, 0, 0, 0}, 1, 1)[0]);
            long waitedMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(waitedMs < 5_000, "the live step waited " + waitedMs + " ms behind the pushes (10 s before the fix)");
            assertEquals(0, target.counters().errors.get());
            raw.close();
        }
    }

    @Test
    void nothingIsServedBeforeHelloAndTheConnectionIsClosed() throws Exception {
        var backend = new CountingBackend(2);
        try (Transport t = memory(); var swarm = new TestSwarm(backend, MODEL, 1, i -> t, t, "memory:0", 1L << 30)) {
            var target = swarm.servers.getFirst();
            var greeted = new java.util.concurrent.LinkedBlockingQueue<Envelope>();
            var honest = t.connect(target.address(), (c, f) -> greeted.add(f.header()), Duration.ofSeconds(2));
            honest.send(Protocol.hello("test"));
            honest.send(Frame.of(Envelope.newBuilder().setRequestId(7).setInfo(dev.catena.transport.proto.InfoRequest.getDefaultInstance()).build()));
            assertTrue(greeted.poll(5, java.util.concurrent.TimeUnit.SECONDS).hasHelloAck());
            var info = greeted.poll(5, java.util.concurrent.TimeUnit.SECONDS).getServerInfo();
            honest.close();

            var replies = new java.util.concurrent.LinkedBlockingQueue<Envelope>();
            var closed = new java.util.concurrent.CountDownLatch(1);
            var raw = t.connect(target.address(), new dev.catena.transport.spi.FrameHandler() {
                @Override
                public void onFrame(dev.catena.transport.spi.Connection c, Frame f) {
                    replies.add(f.header());
                }

                @Override
                public void onClose(dev.catena.transport.spi.Connection c, Throwable cause) {
                    closed.countDown();
                }
            }, Duration.ofSeconds(2));
            // A valid Open, then an Info: either would be served after a Hello.
            raw.send(Frame.of(Envelope.newBuilder().setRequestId(1).setOpen(dev.catena.transport.proto.OpenSession.newBuilder()
                    .setModelId(info.getModelId()).setStart(info.getStart()).setEnd(info.getEnd()).setMaxLength(8)).build()));
            raw.send(Frame.of(Envelope.newBuilder().setRequestId(2).setInfo(dev.catena.transport.proto.InfoRequest.getDefaultInstance()).build()));
            assertTrue(closed.await(5, java.util.concurrent.TimeUnit.SECONDS), "the server closed the connection");
            Envelope first = replies.poll(5, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(first != null && first.hasError() && first.getError().getMessage().contains("send Hello first"), String.valueOf(first));
            assertTrue(replies.stream().noneMatch(e -> e.hasOpened() || e.hasServerInfo()), "nothing served: " + replies);
            assertEquals(0, target.counters().sessionsOpened.get());
            assertEquals(0, target.openSessions());
        }
    }

    private static byte[] sessionIdOf(dev.catena.core.server.SwarmServer server) {
        return server.sessionIds().getFirst();
    }

    @Test
    void aPositionGapIsRefusedWithTheServersLength() {
        var backend = new CountingBackend(2);
        try (Transport t = memory(); var swarm = new TestSwarm(backend, MODEL, 1, i -> t, t, "memory:0", 1L << 30);
             var session = swarm.open(Mode.RELAY, 32)) {
            session.step(new float[CountingBackend.N_EMBD], 1, 0);
            var e = assertThrows(SwarmException.class, () -> session.step(new float[CountingBackend.N_EMBD], 1, 5));
            assertTrue(e.getMessage().contains("POSITION_GAP") && e.getMessage().contains("(length 1)"), e.getMessage());
            assertEquals(2f, session.step(new float[CountingBackend.N_EMBD], 1, 1)[0], "the client recovers from there");
        }
    }

    /** A route may use part of a server's span: the session runs and reserves KV for those blocks only. */
    @Test
    void sessionsOnPartOfASpanRunOnlyThoseBlocks() {
        var backend = new CountingBackend(4);
        try (Transport t = memory(); var swarm = new TestSwarm(backend, MODEL, 1, i -> t, t, "memory:0", 1L << 30)) {
            var server = swarm.servers.getFirst();
            var part = List.of(new dev.catena.core.client.Hop(server.address(), new dev.catena.api.BlockRange(1, 3)));
            try (var session = dev.catena.core.client.RemoteSession.open(swarm.client, swarm.modelId, CountingBackend.N_EMBD, part,
                    Mode.RELAY, 16, DType.F32, Duration.ofSeconds(10))) {
                assertEquals(2f, session.step(new float[CountingBackend.N_EMBD], 1, 0)[0], "two blocks, each adding 1");
                assertEquals(512L * 2 * 16, server.kvBytesReserved(), "KV for 2 of the 4 blocks");
            }
            for (var outside : List.of(new dev.catena.api.BlockRange(2, 6), new dev.catena.api.BlockRange(4, 5))) {
                var hop = List.of(new dev.catena.core.client.Hop(server.address(), outside));
                var e = assertThrows(SwarmException.class, () -> dev.catena.core.client.RemoteSession.open(swarm.client, swarm.modelId,
                        CountingBackend.N_EMBD, hop, Mode.RELAY, 16, DType.F32, Duration.ofSeconds(10)));
                assertTrue(e.getMessage().contains("WRONG_SPAN") && e.getMessage().contains("is not a non-empty part of them"),
                        e.getMessage());
            }
            assertEquals(0, server.kvBytesReserved());
            assertEquals(0, server.openSessions());
        }
    }

    /** What a server announces: free KV in tokens of a whole-span session, and the step rate it has sustained. */
    @Test
    void theAnnouncedRecordShowsFreeKvAndThroughput() {
        var backend = new CountingBackend(2);
        try (Transport t = memory(); var swarm = new TestSwarm(backend, MODEL, 1, i -> t, t, "memory:0", 64 * 1024)) {
            var server = swarm.servers.getFirst();
            assertEquals(64, server.record().freeKvTokens(), "1024 bytes a token");
            assertEquals(0, server.record().throughput(), "unknown before the first step");
            try (var session = swarm.open(Mode.RELAY, 16)) {
                session.step(new float[CountingBackend.N_EMBD], 1, 0);
                assertEquals(48, server.record().freeKvTokens());
                assertTrue(server.record().throughput() > 0);
            }
            server.close();
            assertEquals(dev.catena.api.directory.ServerRecord.State.OFFLINE, server.record().state());
        }
    }

    @Test
    void theKvBudgetRefusesClearlyAndHarmsNoOne() {
        var backend = new CountingBackend(2);
        // The counting backend reserves 512 bytes per block and token, 1024 for these 2 blocks: room for one session of 64 tokens.
        try (Transport t = memory(); var swarm = new TestSwarm(backend, MODEL, 1, i -> t, t, "memory:0", 64 * 1024);
             var first = swarm.open(Mode.RELAY, 64)) {
            var e = assertThrows(SwarmException.class, () -> swarm.open(Mode.RELAY, 64));
            assertTrue(e.getMessage().contains("OUT_OF_MEMORY") && e.getMessage().contains("needs 65536 bytes")
                    && e.getMessage().contains("0 of 65536 are free"), e.getMessage());
            assertEquals(2f, first.step(new float[CountingBackend.N_EMBD], 1, 0)[0]);
        }
    }

    @Test
    void aHostileClientCannotMakeServersAmplify() {
        var backend = new CountingBackend(4);
        try (Transport t = memory(); var swarm = new TestSwarm(backend, MODEL, 2, i -> t, t, "memory:0", 1L << 30);
             var session = swarm.open(Mode.PUSH, 32)) {
            // Re-send the same first step over and over (each a rewind to position 0): one push each at most.
            for (int i = 0; i < 50; i++) {
                session.step(new float[CountingBackend.N_EMBD], 1, 0);
            }
            var first = swarm.servers.getFirst().counters();
            assertTrue(first.pushesSent.get() <= first.clientSteps.get() + 1, first.snapshot().toString());
            // The bound in bytes, less the signatures: the counting model's hidden states (16 bytes) are smaller than them.
            long overhead = first.pushesSent.get() * Protocol.SIGNED_PUSH_OVERHEAD_BYTES;
            assertTrue(swarm.bytesServerToServer() <= swarm.bytesClientToServers() + overhead,
                    swarm.bytesServerToServer() + " > " + swarm.bytesClientToServers() + " + " + overhead);
        }
    }

    @Test
    void thirtyTwoConcurrentSessionsEachEqualTheirSoloRun() throws Exception {
        var backend = new CountingBackend(4);
        try (Transport t = memory(); var swarm = new TestSwarm(backend, MODEL, 2, i -> t, t, "memory:0", 1L << 30);
             var head = backend.openHead(MODEL, SpanOptions.cpu(1)); var pool = Executors.newFixedThreadPool(32)) {
            List<Future<int[]>> runs = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                String prompt = String.valueOf(i % 10);
                runs.add(pool.submit(() -> swarm.generate(head, Mode.PUSH, prompt, 10).tokens()));
            }
            for (int i = 0; i < 32; i++) {
                int start = i % 10;
                int[] expected = new int[10];
                for (int j = 0; j < 10; j++) expected[j] = start + 4 * (j + 1);
                assertArrayEquals(expected, runs.get(i).get(), "session " + i);
            }
            swarm.servers.forEach(s -> assertEquals(0, s.openSessions()));
        }
    }
}

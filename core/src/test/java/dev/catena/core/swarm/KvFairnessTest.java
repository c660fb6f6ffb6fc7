package dev.catena.core.swarm;

import dev.catena.api.BlockRange;
import dev.catena.core.client.ServerLink;
import dev.catena.core.client.SwarmClient;
import dev.catena.transport.proto.DType;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.OpenSession;
import dev.catena.transport.spi.Transport;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** KV admission per client: a fair share while others hold or wait, and a cheap refusal of open floods. */
class KvFairnessTest {
    static final BlockRange BLOCKS = new BlockRange(0, 2);

    static Envelope open(ServerLink link, int maxLength) {
        var o = OpenSession.newBuilder().setModelId("counting.gguf").setStart(BLOCKS.start()).setEnd(BLOCKS.end())
                .setMaxLength(maxLength).setWireDtype(DType.F32);
        try {
            return link.request(Envelope.newBuilder().setOpen(o), null, Duration.ofSeconds(5));
        } catch (RuntimeException refused) { // the link reports an error reply as an exception
            return Envelope.getDefaultInstance();
        }
    }

    @Test
    void aClientCannotReserveMoreThanItsShareWhileAnotherHoldsKv() {
        try (Transport t = SessionLifecycleTest.memory();
             var server = SessionLifecycleTest.server(t, BLOCKS, Duration.ofMinutes(1));
             var a = new SwarmClient(t, Duration.ofSeconds(5)); var b = new SwarmClient(t, Duration.ofSeconds(5))) {
            long budget = 1L << 20; // SessionLifecycleTest.server's
            Envelope first = open(a.link(server.address()), 16);
            assertTrue(first.hasOpened(), first.toString());
            long per = first.getOpened().getKvBytes();
            assertTrue(open(b.link(server.address()), 16).hasOpened());
            int held = 1;
            while (held < 1000 && open(a.link(server.address()), 16).hasOpened()) held++;
            assertEquals(budget / 2 / per, held, "A stops at half the budget while B holds KV");
            assertTrue(open(b.link(server.address()), 16).hasOpened(), "B still gets its share");
            assertTrue(server.kvBytesReserved() < budget, "room was left for B");
        }
    }

    @Test
    void aFloodOfOpensOnOneConnectionIsRefusedPastTheCap() {
        try (Transport t = SessionLifecycleTest.memory();
             var server = SessionLifecycleTest.server(t, BLOCKS, Duration.ofMinutes(1));
             var a = new SwarmClient(t, Duration.ofSeconds(5))) {
            int opened = 0;
            while (opened < 1000 && open(a.link(server.address()), 1).hasOpened()) opened++;
            assertEquals(64, opened);
            assertEquals(64, server.openSessions());
        }
    }

    /**
     * Issue 14's attack suite: a client that arrived first reserved the whole budget for a session it
     * never used, and honest clients were refused. Unused sessions of a client over its share now make
     * room for a client within its share, at once.
     */
    @Test
    void unusedSessionsOverAClientsShareAreReclaimedForAnotherClient() throws Exception {
        try (Transport t = SessionLifecycleTest.memory();
             var server = SessionLifecycleTest.server(t, BLOCKS, Duration.ofMinutes(1));
             var a = new SwarmClient(t, Duration.ofSeconds(5)); var b = new SwarmClient(t, Duration.ofSeconds(5))) {
            long budget = 1L << 20; // SessionLifecycleTest.server's
            int heldByA = 0;
            while (heldByA < 64 && open(a.link(server.address()), 64).hasOpened()) heldByA++;
            assertEquals(budget, server.kvBytesReserved(), "A, alone, took the whole budget in " + heldByA + " sessions");
            Envelope forB = open(b.link(server.address()), 16);
            assertTrue(forB.hasOpened(), "B is admitted: " + forB);
            assertTrue(server.kvBytesReserved() <= budget, server.kvBytesReserved() + " bytes reserved");
            assertEquals(heldByA, server.openSessions(), "one of A's unused sessions was closed for B's");
        }
    }

    /** Opens from one client over many connections: a burst, then a rate, before any KV is touched. */
    @Test
    void opensFromOneClientAreRateLimitedAcrossItsConnections() {
        var backend = new dev.catena.testing.CountingBackend(4);
        try (Transport t = dev.catena.core.Catena.transport("netty").create(dev.catena.transport.spi.TransportConfig.defaults());
             var server = dev.catena.core.server.SwarmServer.start(new dev.catena.core.server.SwarmServer.Config(
                     SessionLifecycleTest.MODEL, "counting.gguf", BLOCKS, dev.catena.api.spi.SpanOptions.cpu(1), "127.0.0.1:0",
                     1L << 30, Duration.ofMinutes(1), 1), backend, t)) {
            java.util.List<SwarmClient> clients = new java.util.ArrayList<>();
            int opened = 0;
            int tried = 0;
            long started = System.nanoTime();
            try {
                for (int c = 0; c < 4; c++) { // four connections from 127.0.0.1, 64 opens each
                    var client = new SwarmClient(t, Duration.ofSeconds(5));
                    clients.add(client);
                    for (int i = 0; i < 64; i++, tried++) {
                        if (open(client.link(server.address()), 1).hasOpened()) opened++;
                    }
                }
            } finally {
                clients.forEach(SwarmClient::close);
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            assertTrue(opened >= 128, "the burst is admitted: " + opened);
            assertTrue(opened <= 128 + 32 * seconds + 1, opened + " of " + tried + " admitted in " + seconds + " s");
            assertTrue(opened < tried, "some refused");
        }
    }

    /**
     * The attack suite's open flood came from 100 hosts a server, each within its own allowance, and the
     * servers admitted and freed some 800 sessions a second each. Newcomers (no session stepped here lately)
     * now share one allowance; a client whose session was stepped is not one of them.
     */
    @Test
    void newcomersFromManyHostsShareOneAllowanceAndAClientThatSteppedIsNotOne() throws Exception {
        try (Transport t = SessionLifecycleTest.memory();
             var server = SessionLifecycleTest.server(t, BLOCKS, Duration.ofMinutes(1));
             var known = new SwarmClient(t, Duration.ofSeconds(5))) {
            long started = System.nanoTime(); // the newcomers' allowance is whole, and refills from here
            byte[] id = SessionLifecycleTest.open(known.link(server.address()), BLOCKS, null); // a newcomer's open, too
            SessionLifecycleTest.step(known.link(server.address()), id, 1, 0, null);
            SessionLifecycleTest.await(() -> server.counters().clientSteps.get() == 1, "the known client's step arrives");
            java.util.List<SwarmClient> newcomers = new java.util.ArrayList<>();
            int admitted = 1;
            String refusal = null;
            try {
                for (int c = 0; c < 64 && refusal == null; c++) { // a host of its own each (the memory transport's addresses)
                    var client = new SwarmClient(t, Duration.ofSeconds(5));
                    newcomers.add(client);
                    for (int i = 0; i < 8 && refusal == null; i++) {
                        refusal = refusal(client.link(server.address()));
                        if (refusal == null) admitted++;
                    }
                }
                double seconds = (System.nanoTime() - started) / 1e9;
                assertTrue(refusal != null && refusal.contains("no session stepped here lately"), "refused as newcomers: " + refusal);
                assertTrue(admitted >= 128 && admitted <= 128 + 64 * seconds + 1, admitted + " newcomers' opens admitted in " + seconds + " s");
                for (int i = 0; i < 8; i++) {
                    assertTrue(open(known.link(server.address()), 1).hasOpened(), "the known client's open " + i + " is admitted");
                }
            } finally {
                newcomers.forEach(SwarmClient::close);
            }
        }
    }

    /** Why {@code link}'s open of a one-token session was refused, or null when it was admitted. */
    static String refusal(ServerLink link) {
        var o = OpenSession.newBuilder().setModelId("counting.gguf").setStart(BLOCKS.start()).setEnd(BLOCKS.end())
                .setMaxLength(1).setWireDtype(DType.F32);
        try {
            Envelope reply = link.request(Envelope.newBuilder().setOpen(o), null, Duration.ofSeconds(5));
            return reply.hasOpened() ? null : reply.hasError() ? reply.getError().getMessage() : reply.toString();
        } catch (RuntimeException refused) { // a closed link, or a timeout
            return String.valueOf(refused.getMessage());
        }
    }

    /** The attack suite's open flood asked 80 times per connection; after 8 refusals the server hangs up. */
    @Test
    void aConnectionWhoseOpensAreRefusedAgainAndAgainIsClosed() throws Exception {
        try (Transport t = SessionLifecycleTest.memory();
             var server = SessionLifecycleTest.server(t, BLOCKS, Duration.ofMinutes(1));
             var a = new SwarmClient(t, Duration.ofSeconds(5))) {
            ServerLink link = a.link(server.address());
            for (int i = 0; i < 7; i++) {
                assertTrue(!open(link, 1 << 16).hasOpened() && link.isOpen(), "refusal " + (i + 1) + " of a session over the budget");
            }
            assertTrue(!open(link, 1 << 16).hasOpened());
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (link.isOpen() && System.nanoTime() < deadline) Thread.sleep(10);
            assertTrue(!link.isOpen(), "the 8th refusal closed the connection");
            assertEquals(0, server.openSessions());
        }
    }
}

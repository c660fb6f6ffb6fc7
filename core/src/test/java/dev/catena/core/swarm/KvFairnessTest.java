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
}

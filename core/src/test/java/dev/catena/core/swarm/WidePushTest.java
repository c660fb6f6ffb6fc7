package dev.catena.core.swarm;

import dev.catena.core.client.RemoteSession;
import dev.catena.testing.PassThroughSpans;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Random;

import static dev.catena.core.swarm.SwarmEquivalenceTest.transport;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pushes of a real model's width pass the server's frame limits: at hidden 4096 in f32 a one-token push
 * (16 KiB) is bigger than the pre-Hello limit, so a peer link that pushed before its Hello took effect,
 * or a limit that ignored the open sessions, would drop every push. TinyStories' pushes (256 bytes) cannot
 * show that.
 */
class WidePushTest {

    @Test
    void pushesAtHidden4096AreAdmittedAndUsed() {
        var backend = new PassThroughSpans(3, 4096);
        try (var serverSide = transport("netty"); var clientSide = transport("netty");
             var swarm = new TestSwarm(backend, Path.of("pass-through-4096"), 3, i -> serverSide, clientSide, "127.0.0.1:0", 1L << 30);
             RemoteSession session = swarm.open(RemoteSession.Mode.PUSH, 64)) {
            long seed = System.nanoTime();
            var random = new Random(seed);
            for (int position = 0; position < 32; position++) {
                float[] hidden = new float[4096];
                for (int i = 0; i < hidden.length; i++) hidden[i] = random.nextFloat();
                assertArrayEquals(hidden, session.step(hidden, 1, position), "seed " + seed + ", position " + position);
            }
            for (int s = 1; s < 3; s++) {
                var c = swarm.servers.get(s).counters();
                assertTrue(c.pushesReceived.get() > 0, "server " + s + " received no push: " + c.snapshot());
                assertEquals(c.pushesReceived.get(), c.pushesUsed.get() + c.pushesLate.get(), "server " + s + ": " + c.snapshot());
            }
        }
    }
}

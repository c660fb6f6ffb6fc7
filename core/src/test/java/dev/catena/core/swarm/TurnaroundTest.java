package dev.catena.core.swarm;

import dev.catena.core.client.RemoteSession;
import dev.catena.testing.DelayingTransport;
import dev.catena.testing.PassThroughSpans;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

import static dev.catena.core.swarm.SwarmEquivalenceTest.transport;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The turnaround counters measure what they say: spans that take a known compute time, servers whose
 * pushes wait a known delay before they are handed to the transport, and a client that pauses a known
 * time between steps. A server's figure holds its push delay and not its compute; the client's holds
 * its pause and not the chain's time; a prompt after a pause counts nothing.
 */
class TurnaroundTest {
    // Compute well above the delays, so that every bound leaves tens of milliseconds for a loaded machine's wake-ups
    // and still tells a figure that holds the compute (or the chain) from one that does not.
    private static final long COMPUTE_MS = 100;
    private static final long PUSH_DELAY_MS = 15;
    private static final long CLIENT_PAUSE_MS = 25;
    private static final int DECODE_STEPS = 8;

    @Test
    void serversCountTheirPushDelayButNotTheirComputeAndTheClientItsPause() throws Exception {
        var backend = new PassThroughSpans(3, 64).computing(Duration.ofMillis(COMPUTE_MS));
        try (var serverSide = transport("netty"); var slowPushes = new DelayingTransport(serverSide, Duration.ofMillis(PUSH_DELAY_MS));
             var clientSide = transport("netty");
             var swarm = new TestSwarm(backend, Path.of("pass-through-64"), 3, i -> slowPushes, clientSide, "127.0.0.1:0", 1L << 30);
             RemoteSession session = swarm.open(RemoteSession.Mode.PUSH, 64)) {
            long seed = System.nanoTime();
            var random = new Random(seed);
            float[] prompt = new float[4 * 64];
            for (int i = 0; i < prompt.length; i++) prompt[i] = random.nextFloat();
            session.step(prompt, 4, 0);
            for (int position = 4; position < 4 + DECODE_STEPS; position++) {
                Thread.sleep(CLIENT_PAUSE_MS); // the client's "head": a known pause between a result and the next step
                float[] hidden = new float[64];
                for (int i = 0; i < hidden.length; i++) hidden[i] = random.nextFloat();
                assertArrayEquals(hidden, session.step(hidden, 1, position), "seed " + seed);
            }
            Thread.sleep(CLIENT_PAUSE_MS);
            session.step(prompt, 4, 4 + DECODE_STEPS); // a new prompt: no decode step's turnaround

            var client = swarm.client.counters().turnaround;
            assertEquals(DECODE_STEPS, client.count(), "one per decode step that followed a step");
            double p50 = client.percentileMillis(0.5);
            // Within the bucket's 1/32 of the pause at least, and far below the chain's own 3 x 100 ms of compute.
            assertTrue(p50 >= CLIENT_PAUSE_MS * 0.96 && p50 < CLIENT_PAUSE_MS + COMPUTE_MS, "client turnaround p50 " + p50 + " ms");

            for (int s = 0; s < 3; s++) {
                var c = swarm.servers.get(s).counters();
                // The route's end records after sending its result, which the client may read first: wait for it.
                for (long until = System.nanoTime() + 2_000_000_000L; c.turnaround.count() < c.steps.get() && System.nanoTime() < until; ) {
                    Thread.sleep(5);
                }
                assertEquals(c.steps.get(), c.turnaround.count(), "server " + s + ": one per step computed: " + c.snapshot());
                double server = c.turnaround.percentileMillis(0.5);
                String what = "server " + s + " turnaround p50 " + server + " ms: " + c.snapshot();
                assertTrue(server < COMPUTE_MS / 2.0, what + " (compute is not turnaround)");
                if (s < 2) assertTrue(server >= PUSH_DELAY_MS * 0.96, what + " (its push waited " + PUSH_DELAY_MS + " ms)");
                else assertTrue(server < PUSH_DELAY_MS + COMPUTE_MS / 4.0, what + " (the last server pushes nothing; its result is not delayed)");
            }
        }
    }
}

package dev.catena.bench;

import dev.catena.api.spi.SamplingParams;
import dev.catena.core.client.RemoteSession;
import dev.catena.core.client.RingSpec;
import dev.catena.core.generation.GenerationLoop;

import java.util.function.Function;

/**
 * A ring-mode route as the generation loop's chain: opened when the loop names its sampling (the
 * last server needs it at open), and timed between tokens rather than per call, since the servers
 * run ahead of the client and a call may find its step done already.
 */
final class RingChain implements GenerationLoop.SamplingChain, AutoCloseable {
    /** Called with each decode step's time: from the previous decode step's result to this one's. */
    interface StepTimer {
        void step(double millis);
    }

    private final Function<RingSpec, RemoteSession> opener;
    private final StepTimer timer;
    private final int window;
    private RemoteSession session;
    private long previous;

    /** @param window steps the servers may run beyond what the client verified */
    RingChain(Function<RingSpec, RemoteSession> opener, int window, StepTimer timer) {
        this.opener = opener;
        this.window = window;
        this.timer = timer;
    }

    @Override
    public void generation(SamplingParams sampling, int[] history, int stopPosition, boolean stopAtEos) {
        if (session != null) throw new IllegalStateException("one generation per ring chain");
        session = opener.apply(new RingSpec(sampling, history, stopPosition, stopAtEos, window));
    }

    @Override
    public float[] forwardLast(float[] hidden, int n, int position) {
        float[] out = session.step(hidden, n, position);
        long now = System.nanoTime();
        if (n == 1 && previous != 0) timer.step((now - previous) / 1e6);
        previous = now;
        return out;
    }

    @Override
    public int chosenToken() {
        return session.chosenToken();
    }

    @Override
    public void rewind() {
        session.rewind();
    }

    /** Ring steps verified after the fact, and rewound. */
    long[] counts() {
        return session == null ? new long[2] : new long[]{session.ringVerified(), session.ringRewinds()};
    }

    @Override
    public void close() {
        if (session != null) session.close();
    }
}

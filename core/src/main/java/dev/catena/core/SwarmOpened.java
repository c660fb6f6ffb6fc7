package dev.catena.core;

import dev.catena.core.client.FaultTolerantSession;
import dev.catena.core.client.Hop;

import java.util.List;

/** A {@link CatenaClient}'s generation on a swarm: a {@link FaultTolerantSession} as the {@link Engine} drives it. */
final class SwarmOpened implements Engine.Opened {
    private final FaultTolerantSession session;

    SwarmOpened(FaultTolerantSession session) {
        this.session = session;
    }

    @Override
    public float[] forwardLast(float[] hidden, int n, int position) {
        return session.forwardLast(hidden, n, position);
    }

    @Override
    public List<RouteHop> route() {
        return session.route().stream().map(SwarmOpened::hop).toList();
    }

    @Override
    public List<Failover> failovers() {
        return session.failovers().stream().map(SwarmOpened::failover).toList();
    }

    @Override
    public long hopSteps() {
        return session.hopSteps();
    }

    @Override
    public long pushedSteps() {
        return session.pushedSteps();
    }

    @Override
    public void generation(dev.catena.api.spi.SamplingParams sampling, int[] history, int stopPosition, boolean stopAtEos) {
        session.generation(sampling, history, stopPosition, stopAtEos);
    }

    @Override
    public int chosenToken() {
        return session.chosenToken();
    }

    @Override
    public void rewind() {
        session.rewind();
    }

    @Override
    public void close() {
        session.close();
    }

    static RouteHop hop(Hop h) {
        return new RouteHop(h.address(), h.blocks());
    }

    /** A failover as the public API shows it. */
    static Failover failover(FaultTolerantSession.Failover f) {
        return new Failover(f.server(), f.reason(), f.replacements().stream().map(SwarmOpened::hop).toList(), f.millis());
    }
}

package dev.catena.bench.attack;

import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.ServerInfo;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Attackers that open sessions on greeted connections. An open flood asks each connection for more
 * sessions than one may hold, then hangs up once every Open is answered and comes back, so sessions are
 * opened and freed en masse; unused sessions are opened as many as a connection may hold, then held.
 */
final class SessionOpener extends Attacks.Attack {
    private final AttackSuite.Scale scale;
    private final List<Attacks.Target> targets;
    private final List<InetSocketAddress> addresses;
    private final int sourceBase;
    private final int perConnection;
    private final boolean hangUpWhenAnswered;
    private final int tickMillis;
    final AtomicLong opened = new AtomicLong();
    final AtomicLong refused = new AtomicLong();

    private SessionOpener(String name, int perServer, AttackSuite.Scale scale, List<Attacks.Target> targets,
                          List<InetSocketAddress> addresses, int sourceBase, int perConnection, boolean hangUpWhenAnswered,
                          int tickMillis) {
        super(name, perServer);
        this.scale = scale;
        this.targets = targets;
        this.addresses = addresses;
        this.sourceBase = sourceBase;
        this.perConnection = perConnection;
        this.hangUpWhenAnswered = hangUpWhenAnswered;
        this.tickMillis = tickMillis;
    }

    static SessionOpener openFlood(AttackSuite.Scale scale, List<Attacks.Target> targets, List<InetSocketAddress> addresses,
                                   int sourceBase) {
        // 80: over the 64 one connection may hold
        return new SessionOpener("open-flood", scale.openFlood(), scale, targets, addresses, sourceBase, 80, true, 20);
    }

    static SessionOpener unusedSessions(AttackSuite.Scale scale, List<Attacks.Target> targets, List<InetSocketAddress> addresses,
                                        int sourceBase) {
        return new SessionOpener("unused-sessions", scale.unused(), scale, targets, addresses, sourceBase, 64, false, 200);
    }

    @Override
    void start() {
        flood = new Flood(name, addresses, perServer, sourceBase, 1, new FloodBehaviour() {
            @Override
            public void opened(FloodConnection c) {
                ServerInfo info = targets.get(c.target).info();
                byte[][] frames = new byte[perConnection + 1][];
                frames[0] = Wire.hello(name);
                for (int i = 1; i <= perConnection; i++) frames[i] = Wire.frame(Attacks.open(i + 1, info, scale.floodTokens()));
                c.write(Wire.concat(frames));
            }

            @Override
            public boolean parsesReplies() {
                return true;
            }

            @Override
            public void frame(FloodConnection c, Envelope e) {
                if (e.hasOpened()) opened.incrementAndGet();
                if (e.hasError()) refused.incrementAndGet();
                if (hangUpWhenAnswered && c.replies >= perConnection + 1) c.close(); // every Open answered: come again
            }
        }, tickMillis, 10).start();
    }

    @Override
    String findings() {
        return "sessions " + (hangUpWhenAnswered ? "opened " : "held ") + opened.get() + ", refused " + refused.get() + "; "
                + super.findings();
    }
}

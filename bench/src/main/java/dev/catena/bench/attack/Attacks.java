package dev.catena.bench.attack;

import com.google.protobuf.ByteString;
import dev.catena.transport.proto.DType;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.InfoRequest;
import dev.catena.transport.proto.OpenSession;
import dev.catena.transport.proto.ServerInfo;
import dev.catena.transport.proto.Step;
import dev.catena.transport.proto.TensorMeta;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Issue 14's attacks, each a {@link Flood} of raw connections to every server of the swarm:
 * idle connections, garbage, maximal frames held partial, headers dripped slowly, frames before
 * Hello, session-open floods and sessions opened and never used.
 */
final class Attacks {
    /** The attacks in the order the suite runs them. */
    static final List<String> NAMES = List.of("idle", "garbage", "partial-frames", "slowloris", "pre-hello", "open-flood",
            "unused-sessions");

    private Attacks() {
    }

    /** What an attack knows of its targets. */
    record Target(InetSocketAddress address, ServerInfo info, int nEmbd) {
    }

    /** One attack under way: its flood, what it found, and anything else it holds. */
    abstract static class Attack implements AutoCloseable {
        final String name;
        final int perServer;
        Flood flood;
        final List<Socket> anchors = new ArrayList<>();

        Attack(String name, int perServer) {
            this.name = name;
            this.perServer = perServer;
        }

        abstract void start() throws Exception;

        /** What the attacker saw, for the table. */
        String findings() {
            return "dropped by the servers: " + flood.closedByServer.get() + " of " + flood.opened.get() + " opened";
        }

        /** Something the server did that it must not (an empty string when nothing). */
        String violation() {
            return "";
        }

        long bytesSent() {
            return flood == null ? 0 : flood.bytesSent.get();
        }

        @Override
        public void close() throws Exception {
            if (flood != null) flood.close();
            for (Socket s : anchors) s.close();
        }
    }

    /** The attack {@code name} at {@code scale} against {@code targets}; sources after {@code sourceBase}. */
    static Attack create(String name, AttackSuite.Scale scale, List<Target> targets, Random random, int sourceBase) {
        List<InetSocketAddress> addresses = targets.stream().map(Target::address).toList();
        return switch (name) {
            case "idle" -> new Attack(name, scale.idle()) {
                @Override
                void start() {
                    flood = new Flood(name, addresses, perServer, sourceBase, c -> { }, 200, 500).start();
                }
            };
            case "garbage" -> new Attack(name, scale.garbage()) {
                @Override
                void start() {
                    flood = new Flood(name, addresses, perServer, sourceBase, new Flood.Behaviour() {
                        @Override
                        public void opened(Flood.Conn c) {
                            c.write(garbage(random));
                        }

                        @Override
                        public void tick(Flood.Conn c) {
                            if (c.idle()) c.write(garbage(random));
                        }
                    }, 50, 200).start();
                }
            };
            case "partial-frames" -> new PartialFrames(scale, targets, addresses, sourceBase);
            case "slowloris" -> new Attack(name, scale.slowloris()) {
                @Override
                void start() {
                    byte[] hello = Wire.hello("slowloris");
                    // Odd connections send a whole Hello first, then drip a control frame's header.
                    byte[] after = Wire.concat(hello, ByteBuffer.allocate(8).putInt(60 << 10).putInt(1 << 10).array());
                    flood = new Flood(name, addresses, perServer, sourceBase, new Flood.Behaviour() {
                        @Override
                        public void opened(Flood.Conn c) {
                            if (c.slot % 2 == 1) {
                                c.write(java.util.Arrays.copyOf(after, hello.length + 1));
                                c.step = hello.length + 1;
                            }
                        }

                        @Override
                        public void tick(Flood.Conn c) {
                            byte[] script = c.slot % 2 == 1 ? after : hello;
                            if (c.step < script.length) c.write(new byte[]{script[c.step]});
                            else c.writeZeros(1);
                            c.step++;
                        }
                    }, scale.dripMillis(), 200).start();
                }
            };
            case "pre-hello" -> new PreHello(scale, targets, addresses, sourceBase, random);
            case "open-flood" -> SessionOpener.openFlood(scale, targets, addresses, sourceBase);
            case "unused-sessions" -> SessionOpener.unusedSessions(scale, targets, addresses, sourceBase);
            default -> throw new IllegalArgumentException("unknown attack '" + name + "'; known: " + NAMES);
        };
    }

    /** Random bytes; some start with a small plausible length, some with a whole Hello, to reach the parser. */
    static byte[] garbage(Random random) {
        byte[] junk = new byte[8 + random.nextInt(16 << 10)];
        random.nextBytes(junk);
        switch (random.nextInt(3)) {
            case 0 -> ByteBuffer.wrap(junk).putInt(0, Math.min(junk.length - 4, 1 << 10)); // a small frame of junk
            case 1 -> {
                return Wire.concat(Wire.hello("garbage"), junk);
            }
            default -> {
                // as it comes: most lengths are huge and refused at the prefix
            }
        }
        return junk;
    }

    static Envelope open(long requestId, ServerInfo info, int maxLength) {
        return Envelope.newBuilder().setRequestId(requestId).setOpen(OpenSession.newBuilder().setModelId(info.getModelId())
                .setStart(info.getStart()).setEnd(info.getEnd()).setMaxLength(maxLength).setWireDtype(DType.F32)).build();
    }

    /**
     * Maximal frames held partial: an anchor connection first opens the largest session the server
     * admits, which raises what any greeted connection may announce (the largest step a session can
     * take, at most the transport's 64 MiB); then hundreds of greeted connections each announce
     * that much, send {@code partialBytes} of it, and hold.
     */
    static final class PartialFrames extends Attack {
        private final AttackSuite.Scale scale;
        private final List<Target> targets;
        private final List<InetSocketAddress> addresses;
        private final int sourceBase;
        private long announced = Long.MAX_VALUE;
        private int anchorLength;

        PartialFrames(AttackSuite.Scale scale, List<Target> targets, List<InetSocketAddress> addresses, int sourceBase) {
            super("partial-frames", scale.partial());
            this.scale = scale;
            this.targets = targets;
            this.addresses = addresses;
            this.sourceBase = sourceBase;
        }

        @Override
        void start() throws IOException {
            for (Target t : targets) {
                Socket s = new Socket();
                anchors.add(s);
                // From an attacker's address, not the honest client's: on a network they are different hosts.
                s.bind(new InetSocketAddress(java.net.InetAddress.getByAddress(new byte[]{127, 2, 0, (byte) (1 + anchors.size())}), 0));
                s.connect(t.address(), 10_000);
                s.setSoTimeout(10_000);
                var in = new DataInputStream(s.getInputStream());
                s.getOutputStream().write(Wire.hello("anchor"));
                int length = 0;
                for (int tokens = 1 << 18; tokens >= 1 << 10 && length == 0; tokens /= 2) {
                    s.getOutputStream().write(Wire.frame(open(tokens, t.info(), tokens)));
                    Envelope e;
                    do e = Wire.read(in); while (e.hasHelloAck());
                    if (e.hasOpened()) length = tokens;
                }
                // What a greeted connection may announce now: the largest step of that session, in f32.
                long allowed = length == 0 ? 64 << 10 : (64 << 10) + (long) length * t.nEmbd() * 4;
                anchorLength = Math.max(anchorLength, length);
                announced = Math.min(announced, Math.min(allowed, 64L << 20));
            }
            byte[] head = Wire.concat(Wire.hello("partial"), ByteBuffer.allocate(8).putInt((int) announced).putInt(0).array());
            long body = Math.min(announced - 5, scale.partialBytes());
            flood = new Flood(name, addresses, perServer, sourceBase, c -> {
                c.write(head);
                c.writeZeros(body);
            }, 100, 2).start(); // evicted connections come back at 20/s: pressure on memory, not a bandwidth flood
        }

        @Override
        String findings() {
            return "anchor session " + anchorLength + " tokens; announced " + announced + " B, sent "
                    + Math.min(announced - 5, scale.partialBytes()) + " B each; " + super.findings();
        }
    }

    /** Small well-formed frames before any Hello: Info, Open and Step. The server must serve none of them. */
    static final class PreHello extends Attack {
        private final List<Target> targets;
        private final List<InetSocketAddress> addresses;
        private final int sourceBase;
        private final Random random;
        private final AtomicLong served = new AtomicLong();
        private final AtomicLong errors = new AtomicLong();

        PreHello(AttackSuite.Scale scale, List<Target> targets, List<InetSocketAddress> addresses, int sourceBase, Random random) {
            super("pre-hello", scale.preHello());
            this.targets = targets;
            this.addresses = addresses;
            this.sourceBase = sourceBase;
            this.random = random;
        }

        @Override
        void start() {
            flood = new Flood(name, addresses, perServer, sourceBase, new Flood.Behaviour() {
                @Override
                public void opened(Flood.Conn c) {
                    tick(c);
                }

                @Override
                public void tick(Flood.Conn c) {
                    ServerInfo info = targets.get(c.target).info();
                    byte[] id = new byte[16];
                    random.nextBytes(id);
                    c.write(Wire.concat(
                            Wire.frame(Envelope.newBuilder().setRequestId(1).setInfo(InfoRequest.getDefaultInstance()).build()),
                            Wire.frame(open(2, info, 64)),
                            Wire.frame(Envelope.newBuilder().setRequestId(3).setStep(Step.newBuilder()
                                    .setSessionId(ByteString.copyFrom(id)).setHidden(TensorMeta.newBuilder().setDtype(DType.F32)
                                            .addShape(1).addShape(targets.get(c.target).nEmbd()))).build())));
                }

                @Override
                public boolean parsesReplies() {
                    return true;
                }

                @Override
                public void frame(Flood.Conn c, Envelope e) {
                    if (e.hasServerInfo() || e.hasOpened()) served.incrementAndGet();
                    if (e.hasError()) errors.incrementAndGet();
                }
            }, 200, 100).start();
        }

        @Override
        String findings() {
            return "served before Hello: " + served.get() + ", error replies: " + errors.get() + "; " + super.findings();
        }

        @Override
        String violation() {
            return served.get() == 0 ? "" : "served " + served.get() + " requests (Info, Open) on connections that sent no Hello";
        }
    }

    /**
     * Attackers that open sessions on greeted connections. An open flood asks each connection for more
     * sessions than one may hold, then hangs up once every Open is answered and comes back, so sessions are
     * opened and freed en masse; unused sessions are opened as many as a connection may hold, then held.
     */
    static final class SessionOpener extends Attack {
        private final AttackSuite.Scale scale;
        private final List<Target> targets;
        private final List<InetSocketAddress> addresses;
        private final int sourceBase;
        private final int perConnection;
        private final boolean hangUpWhenAnswered;
        private final int tickMillis;
        final AtomicLong opened = new AtomicLong();
        final AtomicLong refused = new AtomicLong();

        private SessionOpener(String name, int perServer, AttackSuite.Scale scale, List<Target> targets,
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

        static SessionOpener openFlood(AttackSuite.Scale scale, List<Target> targets, List<InetSocketAddress> addresses,
                                       int sourceBase) {
            // 80: over the 64 one connection may hold
            return new SessionOpener("open-flood", scale.openFlood(), scale, targets, addresses, sourceBase, 80, true, 20);
        }

        static SessionOpener unusedSessions(AttackSuite.Scale scale, List<Target> targets, List<InetSocketAddress> addresses,
                                            int sourceBase) {
            return new SessionOpener("unused-sessions", scale.unused(), scale, targets, addresses, sourceBase, 64, false, 200);
        }

        @Override
        void start() {
            flood = new Flood(name, addresses, perServer, sourceBase, 1, new Flood.Behaviour() {
                @Override
                public void opened(Flood.Conn c) {
                    ServerInfo info = targets.get(c.target).info();
                    byte[][] frames = new byte[perConnection + 1][];
                    frames[0] = Wire.hello(name);
                    for (int i = 1; i <= perConnection; i++) frames[i] = Wire.frame(open(i + 1, info, scale.floodTokens()));
                    c.write(Wire.concat(frames));
                }

                @Override
                public boolean parsesReplies() {
                    return true;
                }

                @Override
                public void frame(Flood.Conn c, Envelope e) {
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
}

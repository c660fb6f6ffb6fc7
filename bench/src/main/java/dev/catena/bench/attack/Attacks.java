package dev.catena.bench.attack;

import dev.catena.transport.proto.DType;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.OpenSession;
import dev.catena.transport.proto.ServerInfo;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

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
                    flood = new Flood(name, addresses, perServer, sourceBase, new FloodBehaviour() {
                        @Override
                        public void opened(FloodConnection c) {
                            c.write(garbage(random));
                        }

                        @Override
                        public void tick(FloodConnection c) {
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
                    flood = new Flood(name, addresses, perServer, sourceBase, new FloodBehaviour() {
                        @Override
                        public void opened(FloodConnection c) {
                            if (c.slot % 2 == 1) {
                                c.write(java.util.Arrays.copyOf(after, hello.length + 1));
                                c.step = hello.length + 1;
                            }
                        }

                        @Override
                        public void tick(FloodConnection c) {
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
}

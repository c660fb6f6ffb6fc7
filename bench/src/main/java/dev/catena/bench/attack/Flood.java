package dev.catena.bench.attack;

import dev.catena.transport.proto.Envelope;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Many raw connections to the servers of a swarm, driven by one thread and one selector, each
 * behaving as an attack's {@link FloodBehaviour} says: what it writes once connected, what it does on
 * each tick, and what it makes of the frames the server sends back. A connection the server closes
 * is opened again (at most {@code reconnectsPerTick} per tick), so the pressure lasts as long as
 * the attack. Connections come from many loopback source addresses ({@code 127.1.x.y}, {@code perSource}
 * each), as a botnet's would, so a per-address cap alone does not stop them.
 */
final class Flood implements AutoCloseable {
    /** Connections per source address by default: half the server's default per-address cap. */
    static final int PER_SOURCE = 32;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 << 10).asReadOnlyBuffer();

    final String name;
    private final List<InetSocketAddress> targets;
    private final int perTarget;
    private final int sourceBase;
    private final int perSource;
    private final FloodBehaviour behaviour;
    private final long tickMillis;
    private final int reconnectsPerTick;
    private final FloodConnection[] slots;
    private final boolean[] wanted;
    private final Thread thread;
    private final CountDownLatch rampedUp = new CountDownLatch(1);
    private volatile boolean stop;
    /**
     * Where the next tick's reconnections start: after the last slot reconnected, so that every target gets its
     * share when there are more closed slots than reconnections per tick (scanned from slot 0, the first
     * target's slots took them all and the flood fell on one server).
     */
    private int reconnectFrom;
    final AtomicLong opened = new AtomicLong();
    final AtomicLong closedByServer = new AtomicLong();
    final AtomicLong connectFailures = new AtomicLong();
    final AtomicLong bytesSent = new AtomicLong();

    /**
     * @param sourceBase first source address index of this flood ({@code 127.1.0.1} is index 0), so
     *                   floods running at once do not share addresses
     */
    Flood(String name, List<InetSocketAddress> targets, int perTarget, int sourceBase, FloodBehaviour behaviour, long tickMillis,
          int reconnectsPerTick) {
        this(name, targets, perTarget, sourceBase, PER_SOURCE, behaviour, tickMillis, reconnectsPerTick);
    }

    Flood(String name, List<InetSocketAddress> targets, int perTarget, int sourceBase, int perSource, FloodBehaviour behaviour,
          long tickMillis, int reconnectsPerTick) {
        this.perSource = perSource;
        this.name = name;
        this.targets = targets;
        this.perTarget = perTarget;
        this.sourceBase = sourceBase;
        this.behaviour = behaviour;
        this.tickMillis = tickMillis;
        this.reconnectsPerTick = reconnectsPerTick;
        this.slots = new FloodConnection[targets.size() * perTarget];
        this.wanted = new boolean[slots.length];
        this.thread = Thread.ofPlatform().daemon().name("attack-" + name).unstarted(this::run);
    }

    /** Source addresses this flood uses. */
    int sources() {
        return (slots.length + perSource - 1) / perSource;
    }

    Flood start() {
        thread.start();
        return this;
    }

    /** Waits until every connection was tried once. */
    boolean awaitRampUp(long millis) throws InterruptedException {
        return rampedUp.await(millis, TimeUnit.MILLISECONDS);
    }

    int openNow() {
        int n = 0;
        for (FloodConnection c : slots) if (c != null) n++;
        return n;
    }

    private InetAddress source(int slot) throws IOException {
        int index = sourceBase + slot / perSource;
        return InetAddress.getByAddress(new byte[]{127, 1, (byte) (index / 250), (byte) (index % 250 + 1)});
    }

    private void run() {
        if (!AttackerPriority.applyToCallingThread()) {
            AttackerPriority.failed = true;
            System.err.println("attack " + name + ": could not set its thread's nice value to " + AttackerPriority.nice);
        }
        try (Selector selector = Selector.open()) {
            int next = 0; // ramp-up: the next slot never opened
            ByteBuffer sink = ByteBuffer.allocateDirect(64 << 10);
            long nextTick = System.nanoTime();
            while (!stop) {
                for (int n = 0; next < slots.length && n < 256; n++, next++) {
                    connect(selector, next);
                }
                if (next == slots.length) rampedUp.countDown();
                selector.select(Math.max(1, Math.min(tickMillis, 20)));
                for (SelectionKey key : selector.selectedKeys()) {
                    FloodConnection c = (FloodConnection) key.attachment();
                    try {
                        if (key.isValid() && key.isConnectable()) {
                            c.channel.finishConnect();
                            c.connected = true;
                            key.interestOps(SelectionKey.OP_READ);
                            opened.incrementAndGet();
                            behaviour.opened(c);
                        }
                        if (key.isValid() && key.isReadable()) read(c, sink);
                        if (key.isValid() && c.connected) flush(c, key);
                    } catch (IOException e) {
                        lost(c, key);
                    }
                }
                selector.selectedKeys().clear();
                long now = System.nanoTime();
                if (now - nextTick >= 0) {
                    nextTick = now + tickMillis * 1_000_000;
                    int reconnects = 0;
                    int from = reconnectFrom;
                    for (int k = 0; k < next; k++) {
                        int i = (from + k) % next;
                        FloodConnection c = slots[i];
                        if (c == null) {
                            if (wanted[i] && behaviour.reconnect() && reconnects < reconnectsPerTick) {
                                reconnects++;
                                connect(selector, i);
                                reconnectFrom = (i + 1) % next;
                            }
                            continue;
                        }
                        if (!c.connected) continue;
                        behaviour.tick(c);
                        SelectionKey key = c.channel.keyFor(selector);
                        try {
                            flush(c, key);
                        } catch (IOException e) {
                            lost(c, key);
                        }
                    }
                }
            }
            for (FloodConnection c : slots) {
                if (c != null) closeQuietly(c);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } finally {
            rampedUp.countDown();
        }
    }

    private void connect(Selector selector, int slot) {
        wanted[slot] = true;
        SocketChannel ch = null;
        try {
            ch = SocketChannel.open();
            ch.configureBlocking(false);
            ch.bind(new InetSocketAddress(source(slot), 0));
            FloodConnection c = new FloodConnection(slot, slot / perTarget, ch);
            slots[slot] = c;
            if (ch.connect(targets.get(c.target))) {
                c.connected = true;
                ch.register(selector, SelectionKey.OP_READ, c);
                opened.incrementAndGet();
                behaviour.opened(c);
                flush(c, ch.keyFor(selector));
            } else {
                ch.register(selector, SelectionKey.OP_CONNECT, c);
            }
        } catch (IOException e) {
            connectFailures.incrementAndGet();
            slots[slot] = null;
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // nothing more to free
                }
            }
        }
    }

    private void read(FloodConnection c, ByteBuffer sink) throws IOException {
        while (true) {
            ByteBuffer buf;
            if (behaviour.parsesReplies()) {
                if (c.in == null) c.in = ByteBuffer.allocate(64 << 10);
                buf = c.in;
            } else {
                sink.clear();
                buf = sink;
            }
            int n = c.channel.read(buf);
            if (n < 0) throw new IOException("closed by the server");
            if (n == 0) return;
            if (buf == c.in) parse(c);
        }
    }

    private void parse(FloodConnection c) {
        ByteBuffer in = c.in;
        in.flip();
        while (in.remaining() >= 4) {
            int length = in.getInt(in.position());
            if (length < 4 || length > in.capacity() - 4) { // a frame too big to keep: skip the rest
                in.clear();
                return;
            }
            if (in.remaining() < 4 + length) break;
            in.getInt();
            int headerLength = in.getInt();
            byte[] header = new byte[Math.min(headerLength, length - 4)];
            in.get(header);
            in.position(in.position() + (length - 4 - header.length));
            c.replies++;
            try {
                behaviour.frame(c, Envelope.parseFrom(header));
            } catch (com.google.protobuf.InvalidProtocolBufferException ignored) {
                // not ours to judge
            }
        }
        in.compact();
    }

    private void flush(FloodConnection c, SelectionKey key) throws IOException {
        while (!c.out.isEmpty()) {
            ByteBuffer b = c.out.peek();
            bytesSent.addAndGet(c.channel.write(b));
            if (b.hasRemaining()) break;
            c.out.poll();
        }
        while (c.out.isEmpty() && c.zeros > 0) {
            ByteBuffer z = ZEROS.duplicate();
            z.limit((int) Math.min(z.capacity(), c.zeros));
            int n = c.channel.write(z);
            bytesSent.addAndGet(n);
            c.zeros -= n;
            if (n == 0) break;
        }
        if (c.closeWhenFlushed && c.idle()) {
            closeQuietly(c);
            return;
        }
        if (key != null && key.isValid()) {
            key.interestOps(c.idle() ? SelectionKey.OP_READ : SelectionKey.OP_READ | SelectionKey.OP_WRITE);
        }
    }

    private void lost(FloodConnection c, SelectionKey key) {
        if (c.connected) closedByServer.incrementAndGet();
        else connectFailures.incrementAndGet();
        if (key != null) key.cancel();
        closeQuietly(c);
    }

    private void closeQuietly(FloodConnection c) {
        slots[c.slot] = null;
        try {
            c.channel.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    /** Stops the flood and closes every connection it holds. */
    @Override
    public void close() throws InterruptedException {
        stop = true;
        thread.join(30_000);
    }
}

package dev.catena.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A user-space TCP proxy for one link (the kernel here has no netem): bytes from the dialer to the
 * target and back are delayed by a one-way delay plus seeded jitter (order kept), optionally
 * capped in bandwidth, and faults can be switched on at any time: drop every connection, blackhole
 * (accept and read, never forward), reset (RST), or corrupt one byte in every N.
 */
public final class LinkProxy implements AutoCloseable {
    public enum Fault { NONE, BLACKHOLE, CORRUPT }

    private final ServerSocket listener;
    private final InetSocketAddress target;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Random random;
    private volatile long delayNanos;
    private volatile long jitterNanos;
    private volatile long bytesPerSecond; // 0: unlimited
    private volatile Fault fault = Fault.NONE;
    private volatile int corruptEvery = 1000;
    private final AtomicLong bytesForwarded = new AtomicLong();

    public LinkProxy(InetSocketAddress target, long seed) throws IOException {
        this.target = target;
        this.random = new Random(seed);
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("proxy-accept-" + listener.getLocalPort()).start(this::acceptLoop);
    }

    public static LinkProxy to(String hostPort, long seed) throws IOException {
        int colon = hostPort.lastIndexOf(':');
        return new LinkProxy(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))), seed);
    }

    /** Bytes delivered through the proxy, both ways. */
    public long bytesForwarded() {
        return bytesForwarded.get();
    }

    /** The address to dial instead of the target. */
    public String address() {
        return "127.0.0.1:" + listener.getLocalPort();
    }

    public LinkProxy delay(long millis, long jitterMillis) {
        this.delayNanos = TimeUnit.MILLISECONDS.toNanos(millis);
        this.jitterNanos = TimeUnit.MILLISECONDS.toNanos(jitterMillis);
        return this;
    }

    /** The delay and its jitter as {@link #delay} set them, in ms: {delay, jitter}. */
    public long[] delayMillis() {
        return new long[]{TimeUnit.NANOSECONDS.toMillis(delayNanos), TimeUnit.NANOSECONDS.toMillis(jitterNanos)};
    }

    public LinkProxy bandwidth(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
        return this;
    }

    public LinkProxy fault(Fault f) {
        this.fault = f;
        return this;
    }

    public LinkProxy corruptOneIn(int n) {
        this.corruptEvery = n;
        this.fault = Fault.CORRUPT;
        return this;
    }

    /** Closes every open connection through the proxy (new ones are still accepted). */
    public void dropConnections() {
        sockets.forEach(LinkProxy::closeQuietly);
        sockets.clear();
    }

    /** Resets every open connection: the peers see a connection reset, not an orderly close. */
    public void resetConnections() {
        for (Socket s : sockets) {
            try {
                s.setSoLinger(true, 0);
            } catch (IOException ignored) {
                // already closed
            }
            closeQuietly(s);
        }
        sockets.clear();
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket in = listener.accept();
                Socket out = new Socket();
                try {
                    out.connect(target, 2000);
                } catch (IOException e) {
                    closeQuietly(in);
                    continue;
                }
                in.setTcpNoDelay(true);
                out.setTcpNoDelay(true);
                sockets.add(in);
                sockets.add(out);
                pump(in, out);
                pump(out, in);
            } catch (IOException closed) {
                return;
            }
        }
    }

    /** A chunk due for delivery at a time: the delay queue releases them in order of due time, which keeps order. */
    private record Chunk(byte[] bytes, long dueNanos, long seq) implements Delayed {
        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(dueNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed o) {
            Chunk c = (Chunk) o;
            int byTime = Long.compare(dueNanos, c.dueNanos);
            return byTime != 0 ? byTime : Long.compare(seq, c.seq);
        }
    }

    private void pump(Socket from, Socket to) {
        var queue = new DelayQueue<Chunk>();
        Thread.ofVirtual().start(() -> {
            long seq = 0;
            long lastDue = 0;
            try (InputStream in = from.getInputStream()) {
                byte[] buf = new byte[64 * 1024];
                for (int n; (n = in.read(buf)) > 0; ) {
                    if (fault == Fault.BLACKHOLE) continue; // read and forget
                    byte[] chunk = java.util.Arrays.copyOf(buf, n);
                    if (fault == Fault.CORRUPT) {
                        for (int i = 0; i < n; i++) {
                            if (random.nextInt(corruptEvery) == 0) chunk[i] ^= (byte) 0x5A;
                        }
                    }
                    long jitter = jitterNanos > 0 ? (long) (random.nextDouble() * jitterNanos) : 0;
                    // Never earlier than the previous chunk: a link does not reorder.
                    long due = Math.max(lastDue, System.nanoTime() + delayNanos + jitter);
                    lastDue = due;
                    queue.add(new Chunk(chunk, due, seq++));
                }
            } catch (IOException ignored) {
                // the connection ended
            }
            queue.add(new Chunk(null, lastDue, seq)); // end of stream, after the data
        });
        Thread.ofVirtual().start(() -> {
            try (OutputStream out = to.getOutputStream()) {
                while (true) {
                    Chunk c = queue.take();
                    if (c.bytes() == null) break;
                    out.write(c.bytes());
                    bytesForwarded.addAndGet(c.bytes().length);
                    long bps = bytesPerSecond;
                    if (bps > 0) Thread.sleep(Math.max(0, c.bytes().length * 1000L / bps));
                }
            } catch (IOException | InterruptedException ignored) {
                // the other side ended
            } finally {
                closeQuietly(to);
                closeQuietly(from);
            }
        });
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing is best effort
        }
    }

    @Override
    public void close() {
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing is best effort
        }
        dropConnections();
    }
}

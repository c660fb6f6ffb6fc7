package dev.catena.transport.memory;

import dev.catena.transport.spi.TransportCounters;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import dev.catena.transport.spi.TransportException;
import dev.catena.transport.spi.TransportStats;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Connections between transports of one JVM, addressed {@code memory:NAME}; {@code memory:0}
 * listens on a fresh name. Behaves like a network: an unknown address is refused at once,
 * closing one end closes the other, frames over {@code maxFrameBytes} close the connection, and a
 * slow handler makes the sender drop (see {@link Connection#send}). Payloads are not copied: the
 * receiver gets a read-only view of the sender's buffer. Handlers run on virtual threads. A frame
 * over the receiving handler's {@link dev.catena.transport.spi.FrameHandler#maxInboundFrameBytes}
 * closes the connection as on a wire; frames arrive whole, so the inbound budget and the read
 * timeouts have nothing to bound here, and the connection caps (per remote host) apply to network
 * transports only.
 */
public final class MemoryTransport implements Transport {
    public static final String SCHEME = "memory:";

    private static final ConcurrentHashMap<String, MemoryListener> REGISTRY = new ConcurrentHashMap<>();
    private static final AtomicLong NAMES = new AtomicLong();
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(2);
    private static final String THREAD_PREFIX = "catena-memory-";

    private final TransportConfig config;
    private final String threadPrefix;
    private final ExecutorService executor;
    private final Set<MemoryListener> listeners = ConcurrentHashMap.newKeySet();
    private final Set<MemoryConnection> connections = ConcurrentHashMap.newKeySet();
    final TransportCounters counters = new TransportCounters();
    private volatile boolean closed;

    public MemoryTransport(TransportConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        this.threadPrefix = THREAD_PREFIX + NAMES.incrementAndGet() + "-";
        this.executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name(threadPrefix, 0).factory());
    }

    @Override
    public Listener listen(String bindAddress, FrameHandler handler) {
        Objects.requireNonNull(handler, "handler");
        ensureOpen();
        String name = nameOf(bindAddress);
        String address = SCHEME + (name.equals("0") ? "auto-" + NAMES.incrementAndGet() : name);
        var listener = new MemoryListener(this, address, handler);
        if (REGISTRY.putIfAbsent(address, listener) != null) {
            throw new TransportException("cannot listen on " + address + ": address in use");
        }
        listeners.add(listener);
        if (closed) { // raced with close()
            listener.close();
            ensureOpen();
        }
        return listener;
    }

    @Override
    public Connection connect(String address, FrameHandler handler, Duration timeout) {
        Objects.requireNonNull(handler, "handler");
        ensureOpen();
        if (Thread.currentThread().getName().startsWith(THREAD_PREFIX)) { // refused as a network transport must
            throw new IllegalStateException("connect blocks: call it off the transport's threads, not from a handler");
        }
        MemoryListener listener = REGISTRY.get(SCHEME + nameOf(address));
        if (listener == null) {
            throw new TransportException("cannot connect to " + address + ": nothing listens there");
        }
        var client = new MemoryConnection(this, handler, listener.address(), null);
        listener.accept(client, SCHEME + "conn-" + NAMES.incrementAndGet());
        track(client);
        return client;
    }

    @Override
    public TransportStats stats() {
        return counters.snapshot();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        new ArrayList<>(listeners).forEach(MemoryListener::close);
        new ArrayList<>(connections).forEach(MemoryConnection::close);
        executor.shutdown(); // queued events (the onClose calls above included) still run
        if (Thread.currentThread().getName().startsWith(threadPrefix)) {
            return; // called from one of our handlers: waiting for ourselves would never end
        }
        try {
            if (!executor.awaitTermination(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                executor.shutdownNow(); // a handler is stuck; interrupt it
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    TransportConfig config() {
        return config;
    }

    ExecutorService executor() {
        return executor;
    }

    void track(MemoryConnection connection) {
        connections.add(connection);
        if (closed) {
            connection.close();
        }
    }

    void forget(MemoryConnection connection) {
        connections.remove(connection);
    }

    void forget(MemoryListener listener) {
        listeners.remove(listener);
    }

    static void unregister(MemoryListener listener) {
        REGISTRY.remove(listener.address(), listener);
    }

    private void ensureOpen() {
        if (closed) {
            throw new TransportException("the memory transport is closed");
        }
    }

    private static String nameOf(String address) {
        Objects.requireNonNull(address, "address");
        if (!address.startsWith(SCHEME) || address.length() == SCHEME.length()) {
            throw new TransportException("not a memory address (memory:NAME): " + address);
        }
        return address.substring(SCHEME.length());
    }

    @Override
    public String toString() {
        return "MemoryTransport[listeners=" + listeners.size() + ", connections=" + connections.size() + "]";
    }
}

package dev.catena.transport.memory;

import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.SendQueue;
import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.TransportException;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One end of an in-memory connection. Sending enqueues a read-only view of the payload on the
 * peer's inbox; the peer drains it on its transport's executor, one event at a time, so its
 * handler sees frames in order and never concurrently, and {@code onClose} last.
 */
final class MemoryConnection implements Connection {
    private static final System.Logger LOG = System.getLogger(MemoryConnection.class.getName());

    private sealed interface Event permits Opened, Delivery, Closed {
    }

    private record Opened() implements Event {
    }

    private record Delivery(Frame frame, long wireBytes) implements Event {
    }

    private record Closed(Throwable cause) implements Event {
    }

    private final MemoryTransport transport;
    private final FrameHandler handler;
    private final String remoteAddress;
    private final MemoryListener listener; // null on the client side
    private MemoryConnection peer;         // set by pair() before either end is published

    private final Queue<Event> inbox = new ConcurrentLinkedQueue<>();
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicBoolean open = new AtomicBoolean(true);
    /** Bytes this end sent that the peer's handler has not consumed yet: the slow-peer bound. */
    private final SendQueue sendQueue;
    /** Set when this end decided to close: frames still in its inbox are dropped, as a socket would. */
    private volatile boolean discardInbound;
    private boolean terminated; // touched by drain() only

    MemoryConnection(MemoryTransport transport, FrameHandler handler, String remoteAddress, MemoryListener listener) {
        this.transport = transport;
        this.handler = handler;
        this.remoteAddress = remoteAddress;
        this.listener = listener;
        this.sendQueue = new SendQueue(transport.config(), transport.counters);
    }

    static void pair(MemoryConnection a, MemoryConnection b) {
        a.peer = b;
        b.peer = a;
    }

    void opened() {
        enqueue(new Opened());
    }

    @Override
    public String remoteAddress() {
        return remoteAddress;
    }

    @Override
    public boolean isOpen() {
        return open.get();
    }

    @Override
    public void send(Frame frame) {
        long wire = frame.wireBytes();
        if (!sendQueue.admit(frame, open.get(), remoteAddress, this::fail)) {
            return;
        }
        // slice(): the bytes between position and limit, independent of the sender's later position moves.
        peer.enqueue(new Delivery(new Frame(frame.header(), frame.payload().slice().asReadOnlyBuffer()), wire));
    }

    @Override
    public void close() {
        closeWith(null);
    }

    /** Closes both ends; this end's handler sees {@code cause}, the peer's an orderly close. */
    void fail(Throwable cause) {
        closeWith(cause);
    }

    private void closeWith(Throwable cause) {
        if (!open.compareAndSet(true, false)) {
            return;
        }
        discardInbound = true;
        enqueue(new Closed(cause));
        peer.peerClosed();
        forget();
    }

    private void peerClosed() {
        if (open.compareAndSet(true, false)) {
            enqueue(new Closed(null));
            forget();
        }
    }

    private void forget() {
        transport.forget(this);
        if (listener != null) {
            listener.forget(this);
        }
    }

    private void enqueue(Event event) {
        inbox.add(event);
        if (pending.getAndIncrement() == 0) {
            try {
                transport.executor().execute(this::drain);
            } catch (RejectedExecutionException transportClosed) {
                // Its handlers are done: Transport.close closed this end before stopping the executor.
            }
        }
    }

    private void drain() {
        do {
            handle(inbox.poll());
        } while (pending.decrementAndGet() != 0);
    }

    private void handle(Event event) {
        switch (event) {
            case Opened _ -> {
                if (!terminated) {
                    try {
                        handler.onOpen(this);
                    } catch (RuntimeException | Error e) {
                        handlerFailed("onOpen", e);
                    }
                }
            }
            case Delivery d -> {
                try {
                    deliver(d);
                } finally {
                    peer.sendQueue.released(d.wireBytes());
                }
            }
            case Closed c -> {
                if (!terminated) {
                    terminated = true;
                    try {
                        handler.onClose(this, c.cause());
                    } catch (RuntimeException | Error e) {
                        LOG.log(System.Logger.Level.WARNING, "onClose handler failed on " + this, e);
                    }
                }
            }
        }
    }

    private void deliver(Delivery d) {
        if (terminated || discardInbound) {
            peer.transport.counters.dropped(d.wireBytes());
            return;
        }
        int max = transport.config().maxFrameBytes();
        if (d.frame().frameLength() > max) { // a sender with a larger maxFrameBytes: refused, as on a wire
            peer.transport.counters.dropped(d.wireBytes());
            fail(new TransportException(remoteAddress + " sent a frame of " + d.frame().frameLength()
                    + " bytes, over maxFrameBytes " + max));
            return;
        }
        long allowed = handler.maxInboundFrameBytes(this); // as a wire transport asks at the length prefix
        if (d.frame().frameLength() > allowed) {
            peer.transport.counters.dropped(d.wireBytes());
            transport.counters.refusedFrame();
            fail(new TransportException(remoteAddress + " sent a frame of " + d.frame().frameLength()
                    + " bytes, over the " + allowed + " its connection allows now"));
            return;
        }
        peer.transport.counters.sent(d.wireBytes());
        transport.counters.received(d.wireBytes());
        try {
            handler.onFrame(this, d.frame());
        } catch (RuntimeException | Error e) {
            handlerFailed("onFrame", e);
        }
    }

    private void handlerFailed(String callback, Throwable e) {
        LOG.log(System.Logger.Level.WARNING, callback + " handler failed on " + this + "; closing it", e);
        fail(e);
    }

    @Override
    public String toString() {
        return "MemoryConnection[" + remoteAddress + (open.get() ? "" : ", closed") + "]";
    }
}

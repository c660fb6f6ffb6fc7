package dev.catena.openai;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Writes one response's messages to its channel from a generation's thread. Netty runs every write from outside the
 * channel's event loop as a task of its own; here the messages queue up and one task writes all those waiting, then
 * flushes once. When tokens come faster than the loop gets the CPU (a busy machine, a burst), they share one wake-up of
 * the loop and one socket write; alone, each still goes out at once. Order is kept: one queue, one drain at a time.
 */
final class CoalescingWriter {
    private final Channel ch;
    private final Queue<Object> pending = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final Runnable drain = this::drain;
    private volatile ChannelFuture lastWrite;
    private volatile boolean closeAfterLast;

    CoalescingWriter(Channel ch) {
        this.ch = ch;
    }

    /** Queues {@code msg} (released if the channel's loop has shut down). */
    void write(Object msg) {
        pending.add(msg);
        schedule();
    }

    /** Queues {@code msgs}, in order, before waking the event loop, so that one drain writes them all. */
    void writeAll(List<?> msgs) {
        pending.addAll(msgs);
        schedule();
    }

    private void schedule() {
        if (scheduled.compareAndSet(false, true)) {
            try {
                ch.eventLoop().execute(drain);
            } catch (RejectedExecutionException e) { // the server is closing: nothing will write these
                scheduled.set(false);
                for (Object m; (m = pending.poll()) != null; ) ReferenceCountUtil.release(m);
            }
        }
    }

    /** Queues {@code msgs}, which end with the response's last content, closing the connection once that is written. */
    void writeAllAndClose(List<?> msgs) {
        closeAfterLast = true;
        writeAll(msgs);
    }

    /**
     * Waits (up to 30 s) while the channel's outbound buffer is over its high-water mark: a client that reads slowly
     * holds its generation back rather than making the server buffer its tokens.
     */
    void awaitWritable() {
        ChannelFuture f = lastWrite;
        if (f != null && !ch.isWritable()) f.awaitUninterruptibly(30, TimeUnit.SECONDS);
    }

    private void drain() {
        scheduled.set(false); // before polling: a message queued after the poll finds no drain scheduled and schedules one
        ChannelFuture last = null;
        for (Object m; (m = pending.poll()) != null; ) {
            last = ch.write(m);
            if (m instanceof LastHttpContent && closeAfterLast) last.addListener(ChannelFutureListener.CLOSE);
        }
        if (last != null) {
            ch.flush();
            lastWrite = last;
        }
    }
}

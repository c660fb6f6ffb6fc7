package dev.catena.openai;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.AbstractScheduledEventExecutor;

import java.lang.invoke.VarHandle;
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
 * the loop and one socket write. Order is kept: one queue, one drain at a time. A {@link ByteBuf} in the queue is already
 * framed for the wire (an HTTP chunk, {@link TokenChunks}) and goes past the HTTP encoder; every other message is an
 * HTTP object for it to encode.
 *
 * <p>With a stream interval: once two writes come within the interval, the loop arms a tick of that interval itself (no
 * wake-up from the generation's thread), and messages queued meanwhile wait for it. Tokens that come faster than the
 * interval then go out together, once an interval; when a tick finds nothing the stream is quiet again and the next
 * token goes out at once; a stream slower than the interval does not tick (unless a busy loop writes two of its tokens
 * back to back, which holds the next one up to an interval). Each write costs a wake-up of the loop and of
 * the client, which on a small machine with a fast model take CPU from the generation itself.
 */
final class CoalescingWriter {
    private final Channel ch;
    private final long intervalNanos;
    private final Queue<Object> pending = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final Runnable drain = this::drain;
    private final Runnable tick = this::tick;
    /** A tick is armed: messages queued now wait for it (set and cleared on the event loop). */
    private volatile boolean ticking;
    private static final long NEVER = Long.MIN_VALUE;
    /** When the loop last wrote, or {@link #NEVER} (loop only). */
    private long lastWriteNanos = NEVER;
    private volatile ChannelFuture lastWrite;
    private volatile boolean closeAfterLast;
    /** The HTTP encoder's context, found at the first framed write (loop only). */
    private ChannelHandlerContext encoder;
    private boolean encoderLookedUp;

    /** @param intervalNanos 0: each message goes out as soon as the event loop runs */
    CoalescingWriter(Channel ch, long intervalNanos) {
        this.ch = ch;
        this.intervalNanos = intervalNanos;
    }

    /** Queues {@code msg}, which waits for the loop's tick when one is armed (released if the loop has shut down). */
    void write(Object msg) {
        pending.add(msg);
        VarHandle.fullFence(); // the queue before the flag; the tick clears the flag before it looks at the queue
        // A closed channel or a loop shutting down may have dropped the armed tick: drain now (released if unwritable).
        if (!ticking || !ch.isActive() || ch.eventLoop().isShuttingDown()) schedule();
    }

    /** Queues {@code msgs}, in order, and has the event loop write them at once, in one drain. */
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
                discard();
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
        long previous = lastWriteNanos;
        if (writeQueued() && intervalNanos > 0 && !ticking && previous != NEVER && lastWriteNanos - previous < intervalNanos) arm();
    }

    /** The interval is over: writes what queued meanwhile and stays armed while messages keep coming. */
    private void tick() {
        if (writeQueued()) arm();
        else disarm();
    }

    private void arm() {
        if (ch.isActive() && !ch.eventLoop().isShuttingDown()) {
            ch.eventLoop().schedule(tick, intervalNanos, TimeUnit.NANOSECONDS);
            ticking = true;
        } else {
            disarm();
        }
    }

    /** No tick any more: what was queued while the flag still read armed is written now (to a closed channel: released). */
    private void disarm() {
        ticking = false;
        VarHandle.fullFence();
        if (!pending.isEmpty()) drain();
    }

    /** Releases what is queued and not yet written: the response is abandoned (its client left). Any thread. */
    void discard() {
        for (Object m; (m = pending.poll()) != null; ) ReferenceCountUtil.release(m);
    }

    /** Writes everything queued and flushes once; whether there was anything. */
    private boolean writeQueued() {
        ChannelFuture last = null;
        for (Object m; (m = pending.poll()) != null; ) {
            if (m instanceof ByteBuf framed) { // written from the encoder's context: the handlers before it (none) and the socket
                if (!encoderLookedUp) {
                    encoder = ch.pipeline().context(HttpServerCodec.class);
                    encoderLookedUp = true;
                }
                last = encoder != null ? encoder.write(framed) : ch.write(framed); // no codec: a bare pipeline (tests)
            } else {
                last = ch.write(m);
            }
            if (m instanceof LastHttpContent && closeAfterLast) last.addListener(ChannelFutureListener.CLOSE);
        }
        if (last == null) return false;
        ch.flush();
        lastWrite = last;
        lastWriteNanos = ch.eventLoop() instanceof AbstractScheduledEventExecutor loop ? loop.ticker().nanoTime() : System.nanoTime();
        return true;
    }
}

package dev.catena.transport.netty;

import dev.catena.transport.spi.TransportCounters;
import dev.catena.transport.spi.TransportException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Splits the stream on the frame length prefix (stripped), bounding what a peer can make us hold:
 * the announced length is checked at the prefix against what the connection's handler allows now
 * (never more than {@code maxFrameBytes}), before a byte of the body is buffered; bytes held in
 * partial frames count against the transport's {@link InboundBudget}; a frame must arrive whole
 * within {@code frameTimeout} of its first byte, and an accepted connection must deliver its first
 * frame within {@code helloTimeout}, so slow and silent peers are dropped.
 */
final class FrameSplitter extends ByteToMessageDecoder {
    final NettyConnection connection;
    /** Bytes charged to the budget; read by other loops choosing whom to evict. */
    final AtomicLong charged = new AtomicLong();
    volatile boolean evicted;

    private final int maxFrameBytes;
    private final InboundBudget budget;
    private final TransportCounters counters;
    private final Duration frameTimeout;
    private final Duration helloTimeout; // null on connections we opened
    private long expected = -1; // body length of the frame in progress, once its prefix is read
    private long framesDone;     // event loop only
    private boolean discarding;  // a frame was refused: the rest of the stream is ignored until the close
    private ScheduledFuture<?> frameTimer;
    /** Cancelled at the close: held for its whole period, it would keep each closed connection's pipeline reachable. */
    private ScheduledFuture<?> helloTimer;
    private final Runnable firstFrame; // null on connections we opened

    FrameSplitter(NettyConnection connection, int maxFrameBytes, InboundBudget budget, TransportCounters counters,
                  Duration frameTimeout, Duration helloTimeout, Runnable firstFrame) {
        this.firstFrame = firstFrame;
        this.connection = connection;
        this.maxFrameBytes = maxFrameBytes;
        this.budget = budget;
        this.counters = counters;
        this.frameTimeout = frameTimeout;
        this.helloTimeout = helloTimeout;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        if (helloTimeout != null) {
            helloTimer = ctx.executor().schedule(() -> {
                if (framesDone == 0 && ctx.channel().isActive()) {
                    timedOut("sent no whole frame within " + helloTimeout.toMillis() + " ms of connecting");
                }
            }, helloTimeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        super.channelActive(ctx);
    }

    /**
     * One frame per call: Netty hands it to the connection before calling again, so the limit
     * asked at the next prefix already reflects that frame (e.g. a Hello just answered).
     */
    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (discarding || evicted) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (expected < 0) {
            if (in.readableBytes() < 4) {
                return;
            }
            long length = in.getUnsignedInt(in.readerIndex());
            long allowed = Math.min(maxFrameBytes, connection.allowedInbound());
            if (length > allowed) {
                discarding = true;
                in.skipBytes(in.readableBytes());
                counters.refusedFrame();
                connection.fail(new TransportException(connection.remoteAddress() + " announced a frame of " + length
                        + " bytes, over the " + allowed + " its connection allows now"
                        + (allowed == maxFrameBytes ? " (maxFrameBytes)" : "")));
                return;
            }
            in.skipBytes(4);
            expected = length;
        }
        if (in.readableBytes() < expected) {
            return;
        }
        out.add(in.readRetainedSlice((int) expected));
        expected = -1;
        if (framesDone++ == 0 && firstFrame != null) {
            firstFrame.run();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        super.channelRead(ctx, msg);
        long held = held(internalBuffer());
        budget.hold(this, held);
        if (held > 0 && frameTimer == null) {
            long started = framesDone;
            frameTimer = ctx.executor().schedule(() -> frameDeadline(ctx, started), frameTimeout.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * What a partial frame holds: the memory of the buffer it grows in, not only the bytes read so far.
     * Netty grows that buffer in powers of two, then in 4 MiB steps, so 4 MiB and a few bytes of a frame
     * hold 8 MiB; counting only what was read let issue 14's attack suite make a server hold 1.7 times
     * its budget. The charge never exceeds the frame announced (what the peer was allowed to send).
     */
    private long held(ByteBuf cumulation) {
        long read = cumulation.readableBytes();
        if (read == 0 || expected < 0) {
            return read;
        }
        return Math.max(read, Math.min(cumulation.capacity(), expected));
    }

    /** A frame was in progress {@code frameTimeout} ago: fails the connection if it still is. */
    private void frameDeadline(ChannelHandlerContext ctx, long startedAt) {
        frameTimer = null;
        if (!ctx.channel().isActive() || internalBuffer().readableBytes() == 0) {
            return;
        }
        if (framesDone == startedAt) {
            timedOut("sent no whole frame within " + frameTimeout.toMillis() + " ms");
        } else { // that frame arrived; the one now in progress gets its own period
            long started = framesDone;
            frameTimer = ctx.executor().schedule(() -> frameDeadline(ctx, started), frameTimeout.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void timedOut(String what) {
        counters.refusedConnection();
        connection.fail(new TransportException(connection.remoteAddress() + " " + what + "; closing it"));
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        budget.release(this);
        if (frameTimer != null) {
            frameTimer.cancel(false);
        }
        if (helloTimer != null) {
            helloTimer.cancel(false);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        budget.release(this);
        super.channelInactive(ctx);
    }
}

package dev.catena.transport.netty;

import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.SendQueue;
import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.TransportException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A TCP connection. Its inbound handler (the last in the pipeline) decodes frames and calls the
 * {@link FrameHandler} on the channel's event loop; {@code send} may be called from any thread.
 */
final class NettyConnection implements Connection {
    private static final System.Logger LOG = System.getLogger(NettyConnection.class.getName());

    private final NettyTransport transport;
    private final Channel channel;
    private final FrameHandler handler;
    private final boolean accepted;
    private final String remoteAddress;
    /** Bytes handed to Netty and not yet written to the socket: the slow-peer bound. */
    private final SendQueue sendQueue;
    /** Why this side closed the connection; the first cause wins, reported by onClose. */
    private final AtomicReference<Throwable> closeCause = new AtomicReference<>();
    private volatile boolean closing;

    NettyConnection(NettyTransport transport, Channel channel, FrameHandler handler, boolean accepted, String remoteAddress) {
        this.transport = transport;
        this.channel = channel;
        this.handler = handler;
        this.accepted = accepted;
        this.remoteAddress = remoteAddress;
        this.sendQueue = new SendQueue(transport.config(), transport.counters);
    }

    @Override
    public String remoteAddress() {
        return remoteAddress;
    }

    /** The key of the certificate the peer presented, once the TLS handshake is done; null otherwise or over plain TCP. */
    @Override
    public java.security.PublicKey peerKey() {
        var ssl = channel.pipeline().get(io.netty.handler.ssl.SslHandler.class);
        if (ssl == null || !ssl.handshakeFuture().isSuccess()) return null;
        try {
            var certs = ssl.engine().getSession().getPeerCertificates();
            return certs.length == 0 ? null : certs[0].getPublicKey();
        } catch (javax.net.ssl.SSLPeerUnverifiedException none) {
            return null;
        }
    }

    @Override
    public boolean isOpen() {
        return !closing && channel.isActive();
    }

    @Override
    public void send(Frame frame) {
        long wire = frame.wireBytes();
        if (!sendQueue.admit(frame, isOpen(), remoteAddress, this::fail)) {
            return;
        }
        ByteBuf out;
        try {
            out = FrameCodec.encode(frame, channel.alloc());
        } catch (IOException | RuntimeException e) {
            sendQueue.dropped(wire);
            LOG.log(System.Logger.Level.WARNING, "cannot encode a frame for " + remoteAddress, e);
            return;
        }
        channel.writeAndFlush(out).addListener(written -> {
            if (written.isSuccess()) {
                sendQueue.sent(wire);
            } else {
                sendQueue.dropped(wire);
            }
        });
    }

    @Override
    public void close() {
        closing = true;
        channel.close();
    }

    /** Closes the connection; the local handler's onClose gets {@code cause}. */
    void fail(Throwable cause) {
        closeCause.compareAndSet(null, cause);
        close();
    }

    /** What the handler allows as the next inbound frame; a failing handler allows nothing. */
    long allowedInbound() {
        try {
            return handler.maxInboundFrameBytes(this);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "maxInboundFrameBytes failed on " + this + "; refusing the frame", e);
            return 0;
        }
    }

    ChannelInboundHandlerAdapter inbound() {
        return new Inbound();
    }

    @Override
    public String toString() {
        return "NettyConnection[" + remoteAddress + (isOpen() ? "" : ", closed") + "]";
    }

    private final class Inbound extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (accepted) {
                try {
                    handler.onOpen(NettyConnection.this);
                } catch (RuntimeException | Error e) {
                    handlerFailed("onOpen", e);
                }
            }
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            try {
                if (closing) {
                    return; // decoded in the same read as a frame that closed us
                }
                Frame frame;
                try {
                    frame = FrameCodec.decode(buf);
                } catch (IOException e) {
                    fail(new TransportException(remoteAddress + " sent a malformed frame: " + e.getMessage(), e));
                    return;
                }
                transport.counters.received(4L + buf.readableBytes());
                try {
                    handler.onFrame(NettyConnection.this, frame);
                } catch (RuntimeException | Error e) {
                    handlerFailed("onFrame", e);
                }
            } finally {
                buf.release();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(describe(cause));
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            closing = true;
            try {
                handler.onClose(NettyConnection.this, closeCause.get());
            } catch (RuntimeException | Error e) {
                LOG.log(System.Logger.Level.WARNING, "onClose handler failed on " + NettyConnection.this, e);
            }
        }

        private void handlerFailed(String callback, Throwable e) {
            LOG.log(System.Logger.Level.WARNING, callback + " handler failed on " + NettyConnection.this + "; closing it", e);
            fail(e);
        }

        private Throwable describe(Throwable cause) {
            if (cause instanceof TooLongFrameException) {
                return new TransportException(remoteAddress + " sent a frame over maxFrameBytes "
                        + transport.config().maxFrameBytes() + ": " + cause.getMessage(), cause);
            }
            for (Throwable c = cause; c != null; c = c.getCause()) {
                if (c instanceof javax.net.ssl.SSLException tls) {
                    return new TransportException("TLS with " + remoteAddress + " failed: " + tls.getMessage(), cause);
                }
            }
            if (cause instanceof IOException) { // the network: reset, broken pipe
                return new TransportException("connection to " + remoteAddress + " lost: " + cause.getMessage(), cause);
            }
            return new TransportException(remoteAddress + " sent a malformed stream: " + cause.getMessage(), cause);
        }
    }
}

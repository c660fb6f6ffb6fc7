package dev.catena.transport.netty;

import dev.catena.transport.spi.TransportCounters;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import dev.catena.transport.spi.TransportException;
import dev.catena.transport.spi.TransportStats;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;

import io.netty.handler.ssl.SslHandler;

import java.net.InetSocketAddress;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * TCP through Netty: epoll or NIO event loops, {@code TCP_NODELAY} and {@code SO_KEEPALIVE} on every
 * connection. Handlers run on the event loops, so a handler that blocks holds up every connection
 * of its loop. A peer that sends a malformed or oversize frame is disconnected (its connection's
 * onClose gets the cause). A peer that reads too slowly gets whole frames dropped (and counted in
 * {@link #stats()}) once {@link TransportConfig#sendQueueLimitBytes()} wait to be written, so a
 * connection holds at most that plus one frame beyond the kernel's socket buffer. Dropping rather
 * than closing: the protocol recovers a lost frame (a push falls back to the client's copy, a step
 * is re-sent after its timeout), while a close would cost a reconnection and a replay.
 */
public final class NettyTransport implements Transport {
    static final Duration CLOSE_WAIT = Duration.ofSeconds(3);
    private static final AttributeKey<NettyConnection> CONNECTION = AttributeKey.valueOf("catena.connection");

    private final TransportConfig config;
    private final boolean epoll;
    private final EventLoopGroup group;
    private final ChannelGroup channels = new DefaultChannelGroup("catena", GlobalEventExecutor.INSTANCE);
    private final Set<NettyListener> listeners = ConcurrentHashMap.newKeySet();
    final TransportCounters counters = new TransportCounters();
    private final InboundBudget inboundBudget;
    /** Null over plain TCP. */
    private final TlsEngines tls;
    private final ConnectionCaps caps;
    private volatile boolean closed;

    /** A transport on epoll when {@code epoll} (which must then be available), else on NIO. */
    public NettyTransport(TransportConfig config, boolean epoll) {
        this.config = Objects.requireNonNull(config, "config");
        this.epoll = epoll;
        this.inboundBudget = new InboundBudget(config.inboundBudgetBytes(), counters);
        this.tls = config.tls() == null ? null : new TlsEngines(config.tls());
        this.caps = new ConnectionCaps(config, counters, ch -> ch.attr(CONNECTION).get());
        int threads = config.ioThreads() > 0 ? config.ioThreads() : Runtime.getRuntime().availableProcessors();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        this.group = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("catena-netty", true), io);
    }

    /** {@code epoll} or {@code nio}. */
    public String implementation() {
        return epoll ? "epoll" : "nio";
    }

    TransportConfig config() {
        return config;
    }

    @Override
    public Listener listen(String bindAddress, FrameHandler handler) {
        Objects.requireNonNull(handler, "handler");
        ensureOpen();
        InetSocketAddress bind = HostPort.parse(bindAddress);
        ChannelGroup accepted = new DefaultChannelGroup("catena-accepted", GlobalEventExecutor.INSTANCE);
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (closed) { // accepted while close() ran, past the groups it closed: no one else would close it
                            ch.close();
                            return;
                        }
                        if (!caps.admit(ch)) {
                            counters.refusedConnection();
                            ch.close(); // excess connections cost an accept and a close, nothing more
                            return;
                        }
                        accepted.add(ch);
                        if (tls != null) ch.pipeline().addLast("tls", new SslHandler(tls.server()));
                        initConnection(ch, handler, true, HostPort.format((InetSocketAddress) ch.remoteAddress()));
                    }
                });
        ChannelFuture bound = bootstrap.bind(bind);
        if (!bound.awaitUninterruptibly(CLOSE_WAIT.toMillis()) || !bound.isSuccess()) {
            bound.channel().close();
            Throwable cause = bound.cause();
            throw new TransportException("cannot listen on " + bindAddress + ": "
                    + (cause == null ? "timed out" : cause.getMessage()), cause);
        }
        Channel server = bound.channel();
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        var listener = new NettyListener(this, server, accepted, HostPort.format(bind.getHostString(), port));
        listeners.add(listener);
        channels.add(server);
        if (closed) { // raced with close()
            listener.close();
            ensureOpen();
        }
        return listener;
    }

    @Override
    public Connection connect(String address, FrameHandler handler, Duration timeout) {
        return connect(address, handler, timeout, null);
    }

    @Override
    public Connection connect(String address, FrameHandler handler, Duration timeout, PublicKey expectedPeerKey) {
        Objects.requireNonNull(handler, "handler");
        ensureOpen();
        if (inEventLoop()) { // waiting here could wait for this very loop
            throw new IllegalStateException("connect blocks: call it off the transport's threads, not from a handler");
        }
        InetSocketAddress target = HostPort.parse(address);
        if (target.isUnresolved()) {
            throw new TransportException("cannot connect to " + address + ": unknown host");
        }
        long millis = Math.clamp(timeout.toMillis(), 1, Integer.MAX_VALUE);
        Bootstrap bootstrap = new Bootstrap()
                .group(group)
                .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) millis)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (tls != null) {
                            var engine = tls.client(target, expectedPeerKey);
                            // Forgotten after the handshake, or here when the connect fails before it.
                            ch.closeFuture().addListener(f -> tls.done(engine));
                            ch.pipeline().addLast("tls", new SslHandler(engine));
                        }
                        initConnection(ch, handler, false, address);
                    }
                });
        ChannelFuture connected = bootstrap.connect(target);
        // Netty enforces the connect timeout; the extra second only guards against a stuck loop.
        if (!connected.awaitUninterruptibly(millis + 1000) || !connected.isSuccess()) {
            connected.cancel(false);
            connected.channel().close();
            Throwable cause = connected.cause();
            throw new TransportException("cannot connect to " + address + " within " + millis + " ms: "
                    + (cause == null ? "timed out" : cause.getMessage()), cause);
        }
        Channel channel = connected.channel();
        channels.add(channel);
        if (closed) {
            channel.close();
            ensureOpen();
        }
        if (tls != null) awaitHandshake(channel, address, millis);
        return channel.attr(CONNECTION).get();
    }

    /** Waits for a connection's TLS handshake; a failure closes it and says why (e.g. whose key was not trusted). */
    private void awaitHandshake(Channel channel, String address, long millis) {
        SslHandler ssl = channel.pipeline().get(SslHandler.class);
        Future<Channel> done = ssl.handshakeFuture();
        try {
            if (!done.awaitUninterruptibly(millis + 1000) || !done.isSuccess()) {
                channel.close();
                Throwable cause = done.cause();
                Throwable root = cause;
                while (root != null && root.getCause() != null) root = root.getCause();
                throw new TransportException("TLS handshake with " + address + " failed: "
                        + (root == null ? "timed out" : root.getMessage()), cause);
            }
        } finally {
            tls.done(ssl.engine());
        }
    }

    private void initConnection(Channel ch, FrameHandler handler, boolean accepted, String remote) {
        var connection = new NettyConnection(this, ch, handler, accepted, remote);
        ch.attr(CONNECTION).set(connection);
        if (accepted) {
            channels.add(ch);
            if (closed) ch.close(); // close() may have closed the group just before it was added
        }
        Runnable firstFrame = accepted ? caps.silentUntilFirstFrame(ch) : null;
        ch.pipeline().addLast("frames", new FrameSplitter(connection, config.maxFrameBytes(), inboundBudget, counters,
                config.frameTimeout(), accepted ? config.helloTimeout() : null, firstFrame));
        ch.pipeline().addLast("connection", connection.inbound());
    }

    @Override
    public TransportStats stats() {
        return counters.snapshot();
    }

    @Override
    public long inboundBytesBuffered() {
        return inboundBudget.total();
    }

    void forget(NettyListener listener) {
        listeners.remove(listener);
    }

    /** Closes every listener and connection, then stops the event loops, within a few seconds. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        new ArrayList<>(listeners).forEach(NettyListener::close);
        awaitOutsideLoops(channels.close());
        // No quiet period: every channel is closed, and the loops still run the tasks queued (onClose).
        awaitOutsideLoops(group.shutdownGracefully(0, CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS));
    }

    /** Waits a bounded time for {@code future}, unless called on one of our loops (from a handler), which would deadlock. */
    void awaitOutsideLoops(Future<?> future) {
        if (!inEventLoop()) {
            future.awaitUninterruptibly(CLOSE_WAIT.toMillis() + 1000);
        }
    }

    private boolean inEventLoop() {
        for (EventExecutor loop : group) {
            if (loop.inEventLoop()) {
                return true;
            }
        }
        return false;
    }

    private void ensureOpen() {
        if (closed) {
            throw new TransportException("the Netty transport is closed");
        }
    }

    @Override
    public String toString() {
        return "NettyTransport[" + implementation() + ", listeners=" + listeners.size() + "]";
    }
}

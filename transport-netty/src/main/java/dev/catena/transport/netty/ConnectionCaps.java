package dev.catena.transport.netty;

import dev.catena.transport.spi.TransportConfig;
import dev.catena.transport.spi.TransportCounters;
import dev.catena.transport.spi.TransportException;
import io.netty.channel.Channel;

import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * The caps on a transport's accepted connections, in total and per remote host
 * ({@link TransportConfig#maxConnections()}, {@link TransportConfig#maxConnectionsPerAddress()}). At the
 * total cap the oldest accepted connection that has not sent a whole frame yet is closed to make room, so
 * thousands of silent connections from many hosts cannot keep an honest client out (issue 14's attack
 * suite found them doing so until their Hello timeouts); only when every connection has spoken is the new
 * one refused.
 */
final class ConnectionCaps {
    private final TransportConfig config;
    private final TransportCounters counters;
    private final Function<Channel, NettyConnection> connectionOf;
    /** Accepted connections open now, in total and per remote host. */
    private final AtomicInteger open = new AtomicInteger();
    private final ConcurrentHashMap<String, Integer> perHost = new ConcurrentHashMap<>();
    /** Accepted connections that have not delivered a whole frame yet, oldest first: the first to go at the total cap. */
    private final ConcurrentLinkedDeque<Channel> silent = new ConcurrentLinkedDeque<>();

    ConnectionCaps(TransportConfig config, TransportCounters counters, Function<Channel, NettyConnection> connectionOf) {
        this.config = config;
        this.counters = counters;
        this.connectionOf = connectionOf;
    }

    /** Counts {@code ch} against the caps, released when it closes; false when over a cap. */
    boolean admit(Channel ch) {
        String host = ((InetSocketAddress) ch.remoteAddress()).getAddress().getHostAddress();
        int total = open.incrementAndGet();
        int fromHost = perHost.merge(host, 1, Integer::sum);
        ch.closeFuture().addListener(closed -> {
            open.decrementAndGet();
            perHost.computeIfPresent(host, (h, n) -> n == 1 ? null : n - 1);
        });
        if (config.maxConnectionsPerAddress() != 0 && fromHost > config.maxConnectionsPerAddress()) {
            return false;
        }
        return config.maxConnections() == 0 || total <= config.maxConnections() || closeOldestSilent();
    }

    /** Counts {@code ch} as silent until the returned callback says its first whole frame came (or it closes). */
    Runnable silentUntilFirstFrame(Channel ch) {
        silent.add(ch);
        ch.closeFuture().addListener(closed -> silent.remove(ch));
        return () -> silent.remove(ch);
    }

    /** Closes the oldest accepted connection still open that has sent no whole frame; false when there is none. */
    private boolean closeOldestSilent() {
        for (Channel victim; (victim = silent.pollFirst()) != null; ) {
            NettyConnection c = connectionOf.apply(victim);
            if (victim.isActive() && c != null) {
                counters.refusedConnection();
                c.fail(new TransportException("closed " + c.remoteAddress() + ", which had sent nothing, to admit a new "
                        + "connection at the cap of " + config.maxConnections()));
                return true;
            }
        }
        return false;
    }
}

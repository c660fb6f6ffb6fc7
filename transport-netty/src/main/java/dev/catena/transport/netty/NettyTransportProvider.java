package dev.catena.transport.netty;

import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import dev.catena.transport.spi.TransportProvider;

import java.util.Optional;

/** Netty over TCP: epoll when the native library loads, NIO otherwise (always available). */
public final class NettyTransportProvider extends TransportProvider {

    /** Set to true to keep Netty's native transports switched off (e.g. to compare with NIO). */
    public static final String NO_NATIVE_PROPERTY = "catena.netty.noNative";

    @Override
    public String name() {
        return "netty";
    }

    @Override
    public Optional<Throwable> unavailabilityCause() {
        return Optional.empty();
    }

    @Override
    public String implementation() {
        return NativeProbe.EPOLL_AVAILABLE ? "epoll" : "nio";
    }

    @Override
    public Transport create(TransportConfig config) {
        return new NettyTransport(config, NativeProbe.EPOLL_AVAILABLE);
    }

    /** Computed once: whether epoll can be used, honouring {@link #NO_NATIVE_PROPERTY}. */
    static final class NativeProbe {
        static final boolean EPOLL_AVAILABLE = !Boolean.getBoolean(NO_NATIVE_PROPERTY) && epollLoads();

        private static boolean epollLoads() {
            try {
                return io.netty.channel.epoll.Epoll.isAvailable();
            } catch (LinkageError absent) { // netty-transport-classes-epoll not on the path
                return false;
            }
        }
    }
}

/** Catena's default transport, over Netty (epoll where available, else NIO). */
module dev.catena.transport.netty {
    requires dev.catena.transport.spi;
    requires io.netty.buffer;
    requires io.netty.common;
    requires io.netty.codec;
    requires io.netty.transport;
    requires io.netty.handler;
    requires io.netty.transport.classes.epoll;
    provides dev.catena.transport.spi.TransportProvider with dev.catena.transport.netty.NettyTransportProvider;
}

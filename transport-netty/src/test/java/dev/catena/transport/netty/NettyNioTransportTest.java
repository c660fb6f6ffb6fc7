package dev.catena.transport.netty;

import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;

/** The whole Netty suite again on NIO event loops (as with {@code -Dcatena.netty.noNative=true}). */
class NettyNioTransportTest extends NettyTransportTest {

    @Override
    protected Transport newTransport(TransportConfig config) {
        return new NettyTransport(config, false);
    }

    @Override
    protected String expectedImplementation() {
        return "nio";
    }

    @Override
    protected String describe() {
        return "netty/nio";
    }
}

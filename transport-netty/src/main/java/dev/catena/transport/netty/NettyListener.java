package dev.catena.transport.netty;

import dev.catena.transport.spi.Listener;
import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;

/** A bound server socket and the connections it accepted. */
final class NettyListener implements Listener {
    private final NettyTransport transport;
    private final Channel serverChannel;
    private final ChannelGroup accepted;
    private final String address;

    NettyListener(NettyTransport transport, Channel serverChannel, ChannelGroup accepted, String address) {
        this.transport = transport;
        this.serverChannel = serverChannel;
        this.accepted = accepted;
        this.address = address;
    }

    @Override
    public String address() {
        return address;
    }

    @Override
    public void close() {
        // Stop accepting first, so that no connection slips in after the group is closed.
        transport.awaitOutsideLoops(serverChannel.close());
        transport.awaitOutsideLoops(accepted.close());
        transport.forget(this);
    }

    @Override
    public String toString() {
        return "NettyListener[" + address + "]";
    }
}

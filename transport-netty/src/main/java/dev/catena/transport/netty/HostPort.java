package dev.catena.transport.netty;

import dev.catena.transport.spi.TransportException;

import java.net.InetSocketAddress;

/** {@code host:port} and {@code [ipv6]:port} addresses. */
final class HostPort {
    private HostPort() {
    }

    /** Resolves the host (a literal costs nothing); an unknown host comes back unresolved. */
    static InetSocketAddress parse(String address) {
        if (address == null) {
            throw new TransportException("no address given");
        }
        int colon = address.lastIndexOf(':');
        if (colon <= 0 || colon == address.length() - 1) {
            throw new TransportException("not a host:port address: " + address);
        }
        String host = address.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(address.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new TransportException("not a host:port address: " + address);
        }
        if (port < 0 || port > 65535) {
            throw new TransportException("port out of range in " + address);
        }
        return new InetSocketAddress(host, port);
    }

    static String format(InetSocketAddress address) {
        return format(address.getHostString(), address.getPort());
    }

    static String format(String host, int port) {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}

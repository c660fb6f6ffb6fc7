package dev.catena.transport.netty;

import dev.catena.transport.spi.TransportProvider;
import io.netty.channel.epoll.Epoll;
import org.junit.jupiter.api.Test;

import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NettyTransportProviderTest {

    @Test
    void isFoundByServiceLoaderAndAvailable() {
        var found = ServiceLoader.load(TransportProvider.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(p -> p instanceof NettyTransportProvider)
                .findFirst();
        assertTrue(found.isPresent(), "META-INF/services must register NettyTransportProvider");
        assertTrue(found.get().isAvailable());
        assertEquals("netty", found.get().name());
    }

    @Test
    void reportsEpollExactlyWhenNettyCanUseIt() {
        String expected = Epoll.isAvailable() ? "epoll" : "nio";
        assertEquals(expected, new NettyTransportProvider().implementation(),
                "epoll unavailability cause: " + Epoll.unavailabilityCause());
    }
}

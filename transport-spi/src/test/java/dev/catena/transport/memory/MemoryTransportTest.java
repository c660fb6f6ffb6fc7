package dev.catena.transport.memory;

import dev.catena.transport.contract.TransportContractTest;
import dev.catena.transport.contract.TransportTestKit.Recorder;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportException;
import dev.catena.transport.spi.TransportProvider;
import dev.catena.transport.spi.TransportStats;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ServiceLoader;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

import static dev.catena.transport.contract.TransportTestKit.WAIT;
import static dev.catena.transport.contract.TransportTestKit.frame;
import static dev.catena.transport.contract.TransportTestKit.poll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryTransportTest extends TransportContractTest {

    @Override
    protected TransportProvider provider() {
        return new MemoryTransportProvider();
    }

    @Override
    protected String bindAddress() {
        return "memory:0";
    }

    @Override
    protected String deadAddress() {
        return "memory:nobody-listens-here";
    }

    @Test
    void isFoundByServiceLoaderBelowNetworkTransports() {
        TransportProvider found = ServiceLoader.load(TransportProvider.class).stream()
                .map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals("memory"))
                .findFirst().orElseThrow();
        assertTrue(found.isAvailable());
        assertEquals(1, found.priority(), "a network transport (priority 5) must win");
    }

    @Test
    void namesAreAllocatedUniqueAndExplicitNamesAreExclusive() {
        Transport transport = transport();
        Listener a = transport.listen("memory:0", new Recorder());
        Listener b = transport.listen("memory:0", new Recorder());
        assertNotEquals(a.address(), b.address());
        assertTrue(a.address().startsWith("memory:"));

        String name = "memory:exclusive-" + seed;
        Listener named = transport.listen(name, new Recorder());
        assertEquals(name, named.address());
        assertThrows(TransportException.class, () -> transport().listen(name, new Recorder()));
        named.close();
        transport.listen(name, new Recorder()).close(); // free again once closed

        assertThrows(TransportException.class, () -> transport.listen("127.0.0.1:0", new Recorder()));
        assertThrows(TransportException.class, () -> transport.connect("127.0.0.1:1", new Recorder(), WAIT));
    }

    @Test
    void payloadsAreHandedOverWithoutACopy() {
        BlockingQueue<Long> addresses = new LinkedBlockingQueue<>();
        Listener listener = transport().listen("memory:0", new Recorder((c, f) ->
                addresses.add(MemorySegment.ofBuffer(f.payload()).address())));
        Connection connection = transport().connect(listener.address(), new Recorder(), WAIT);
        ByteBuffer payload = ByteBuffer.allocateDirect(4096);
        connection.send(new Frame(Envelope.getDefaultInstance(), payload.position(100)));
        assertEquals(MemorySegment.ofBuffer(payload).address(), poll(addresses, "the payload's address"));
    }

    @Test
    void countersAddUpOnBothSides() {
        Transport server = transport();
        Recorder serverSide = new Recorder();
        Listener listener = server.listen("memory:0", serverSide);
        Transport client = transport();
        Connection connection = client.connect(listener.address(), new Recorder(), WAIT);
        long bytes = 0;
        for (int i = 0; i < 50; i++) {
            Frame f = frame(i, new byte[i * 10], i % 2 == 0);
            bytes += f.wireBytes();
            connection.send(f);
        }
        for (int i = 0; i < 50; i++) {
            serverSide.next();
        }
        TransportStats sent = client.stats();
        TransportStats received = server.stats();
        assertEquals(50, sent.framesSent());
        assertEquals(bytes, sent.bytesSent());
        assertEquals(50, received.framesReceived());
        assertEquals(bytes, received.bytesReceived());
        assertEquals(0, sent.framesDropped());
    }
}

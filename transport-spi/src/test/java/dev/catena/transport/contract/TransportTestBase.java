package dev.catena.transport.contract;

import dev.catena.transport.contract.TransportTestKit.Recorder;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import dev.catena.transport.spi.TransportProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.catena.transport.contract.TransportTestKit.WAIT;

/**
 * The harness of {@link TransportContractTest}: the hooks a transport module implements, and
 * transports closed after each test. Randomness is seeded: a failure prints the seed, and
 * {@code -Dcatena.test.seed=N} replays it. Client and server use separate transport instances, as
 * two processes would.
 */
public abstract class TransportTestBase {
    protected final long seed = Long.getLong("catena.test.seed", System.nanoTime());
    protected final Random random = new Random(seed);
    private final List<AutoCloseable> resources = new ArrayList<>();

    @RegisterExtension
    final TestWatcher seedReporter = new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, Throwable cause) {
            System.err.printf("%s failed with seed %d (rerun with -Dcatena.test.seed=%d)%n",
                    context.getDisplayName(), seed, seed);
        }
    };

    protected abstract TransportProvider provider();

    /** Where a test listens: any free address. */
    protected abstract String bindAddress();

    /** An address where nothing listens. */
    protected abstract String deadAddress() throws Exception;

    /** Whether frames cross a socket, so that raw bytes can be thrown at a listener. */
    protected boolean hasWire() {
        return false;
    }

    protected Transport newTransport(TransportConfig config) {
        return provider().create(config);
    }

    /** A transport closed after the test. */
    protected final Transport transport(TransportConfig config) {
        Transport transport = newTransport(config);
        resources.add(transport);
        return transport;
    }

    protected final Transport transport() {
        return transport(TransportConfig.defaults());
    }

    @AfterEach
    void closeResources() throws Exception {
        for (AutoCloseable resource : resources.reversed()) {
            resource.close();
        }
    }

    protected static TransportConfig maxFrame(int bytes) {
        return new TransportConfig(bytes, 0);
    }

    /** Client and server ends of one connection; the server echoes every frame back. */
    protected record Pair(Transport server, Listener listener, Recorder serverSide, Connection client, Recorder clientSide) {
    }

    protected final Pair echoPair() {
        Transport server = transport();
        Recorder serverSide = Recorder.echoing();
        Listener listener = server.listen(bindAddress(), serverSide);
        Recorder clientSide = new Recorder();
        return new Pair(server, listener, serverSide, transport().connect(listener.address(), clientSide, WAIT), clientSide);
    }
}

package dev.catena.core.server;

import dev.catena.core.protocol.Protocol;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.Transport;

import java.security.PublicKey;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * A server's connections to its peers, for pushes: connected in the background (never on a compute
 * thread), with the latest push for a peer still being connected to held until it is up.
 */
final class PeerLinks {
    private static final System.Logger LOG = System.getLogger(PeerLinks.class.getName());
    private static final Duration PEER_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration PEER_RETRY = Duration.ofMillis(500);

    private final Transport transport;
    private final UnaryOperator<String> peerAddresses;
    private final Supplier<String> self;
    private final PublicKey selfKey;
    private final BooleanSupplier closed;
    private final ServerCounters counters;
    private final Map<String, Connection> peers = new ConcurrentHashMap<>();
    /** Peers being connected to or that failed recently: address -> nanoTime before which not to try again. */
    private final Map<String, Long> connecting = new ConcurrentHashMap<>();
    /** The latest push for each peer still being connected to. */
    private final Map<String, Frame> pendingPushes = new ConcurrentHashMap<>();
    /** The key clients said each peer has: over TLS its certificate must have it (or be trusted). */
    private final Map<String, PublicKey> expectedKeys = new ConcurrentHashMap<>();

    /**
     * @param peerAddresses how this server reaches a peer that clients name by an address
     * @param self          this server's address, announced to peers in the handshake
     * @param closed        whether the server is closing: no new connections then
     */
    PeerLinks(Transport transport, UnaryOperator<String> peerAddresses, Supplier<String> self, PublicKey selfKey,
              BooleanSupplier closed, ServerCounters counters) {
        this.selfKey = selfKey;
        this.transport = transport;
        this.peerAddresses = peerAddresses;
        this.self = self;
        this.closed = closed;
        this.counters = counters;
    }

    /** Fire-and-forget to a peer; a peer that cannot be reached loses the push (the client's copy follows). */
    void push(String named, Frame frame) {
        String address = peerAddresses.apply(named);
        Connection c = peers.get(address);
        if (c == null || !c.isOpen()) {
            // Never connect on the compute thread: a peer slow to accept would stall this server's steps
            // (and get it blamed by the client). The push waits for the connection, the latest one only;
            // if it never comes, the client's own copy stands in.
            if (pendingPushes.put(address, frame) != null) counters.pushesDropped.incrementAndGet();
            pendingSignatures.remove(address); // the signature of the push replaced, if any
            connect(named, null);
            return;
        }
        send(c, frame);
    }

    /** The latest push's trailing signature for each peer still being connected to, sent right after that push. */
    private final Map<String, Frame> pendingSignatures = new ConcurrentHashMap<>();

    /**
     * A push's trailing signature: sent after the push on the peer's connection; while the connection is
     * still coming up it waits with the push (a push replaced there loses its signature too).
     */
    void pushSignature(String named, Frame signature) {
        String address = peerAddresses.apply(named);
        Connection c = peers.get(address);
        if (c != null && c.isOpen() && !pendingPushes.containsKey(address)) {
            sendSignature(c, signature);
            return;
        }
        pendingSignatures.put(address, signature);
        Connection now = peers.get(address);
        if (now != null && now.isOpen()) sendPending(address, now); // it came up meanwhile
    }

    private void send(Connection peer, Frame push) {
        counters.pushesSent.incrementAndGet();
        counters.bytesToPeers.addAndGet(push.wireBytes());
        peer.send(push);
    }

    /**
     * Starts connecting to a peer in the background unless connected or already trying; after a
     * failure the next try waits {@link #PEER_RETRY}. Called when a session names its next server, so
     * that the connection is usually up by the first push.
     */
    void connect(String named, PublicKey expectedKey) {
        String address = peerAddresses.apply(named);
        if (expectedKey != null) expectedKeys.put(address, expectedKey);
        Connection open = peers.get(address);
        if (open != null && open.isOpen()) {
            sendPending(address, open); // a push queued just as the connection came up
            return;
        }
        if (closed.getAsBoolean()) {
            return;
        }
        long now = System.nanoTime();
        connecting.compute(address, (a, retryAfter) -> {
            if (retryAfter != null && retryAfter - now > 0) {
                return retryAfter; // connecting now, or failed recently
            }
            Thread.ofVirtual().name("catena-peer-connect").start(() -> {
                try {
                    Connection c = transport.connect(a, Protocol.IGNORE_REPLIES, PEER_CONNECT_TIMEOUT, expectedKeys.get(a));
                    c.send(Protocol.hello(self.get(), selfKey));
                    peers.put(a, c);
                    if (closed.getAsBoolean()) c.close();
                    connecting.remove(a);
                    sendPending(a, c);
                } catch (RuntimeException unreachable) {
                    LOG.log(System.Logger.Level.DEBUG, "cannot connect to peer {0}: {1}", a, unreachable.getMessage());
                    connecting.put(a, System.nanoTime() + PEER_RETRY.toNanos());
                    if (pendingPushes.remove(a) != null) counters.pushesDropped.incrementAndGet();
                    pendingSignatures.remove(a);
                }
            });
            return now + PEER_CONNECT_TIMEOUT.toNanos() + PEER_RETRY.toNanos(); // until the try ends
        });
    }

    private synchronized void sendPending(String address, Connection peer) {
        Frame waiting = pendingPushes.remove(address);
        if (waiting != null) send(peer, waiting);
        Frame signature = pendingSignatures.remove(address);
        if (signature != null) {
            sendSignature(peer, signature);
        }
    }

    /** Forgets a connection that closed, if it was a peer's. */
    void onClose(Connection connection) {
        peers.values().remove(connection);
    }

    void close() {
        peers.values().forEach(Connection::close);
    }

    private void sendSignature(Connection c, Frame signature) {
        counters.bytesToPeers.addAndGet(signature.wireBytes());
        c.send(signature);
    }
}

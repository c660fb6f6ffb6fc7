package dev.catena.core.client;

import dev.catena.core.protocol.Protocol;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportException;

import com.google.protobuf.ByteString;
import dev.catena.transport.proto.HelloAck;
import dev.catena.transport.sign.Statements;
import dev.catena.transport.spi.TlsConfig;

import java.nio.ByteBuffer;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The client's connection to one server: requests matched to replies by request id, step results
 * and session errors routed to the session they belong to (a result may come unasked, computed
 * from a push before the client's copy arrived).
 */
public final class ServerLink implements FrameHandler, AutoCloseable {
    /**
     * A frame for a session, its payload copied out of the transport's buffer; or, with
     * {@code connectionLost}, the news that the connection went (an error header saying so).
     */
    public record Received(Envelope header, ByteBuffer payload, boolean connectionLost) {
        public Received(Envelope header, ByteBuffer payload) {
            this(header, payload, false);
        }
    }

    private final String address;
    private final Connection connection;
    private final AtomicLong nextRequestId = new AtomicLong(1);
    private final Map<Long, CompletableFuture<Envelope>> pending = new ConcurrentHashMap<>();
    private final Map<String, Consumer<Received>> sessions = new ConcurrentHashMap<>();
    private final AtomicLong bytesSent = new AtomicLong();
    private volatile Throwable closedBecause;
    /** The server's identity, proven in the handshake. */
    private volatile PublicKey publicKey;

    private ServerLink(String address, Transport transport, Duration timeout) {
        this.address = address;
        this.connection = transport.connect(address, this, timeout);
    }

    /**
     * Connects and exchanges the handshake: the version, and the server's public key, which it proves it
     * holds by signing a fresh nonce (over TLS, it must also be the key of the server's certificate).
     *
     * @throws TransportException when the server cannot be reached or does not prove its identity
     */
    public static ServerLink connect(Transport transport, String address, Duration timeout) {
        var link = new ServerLink(address, transport, timeout);
        try {
            byte[] nonce = new byte[32];
            NONCES.nextBytes(nonce);
            var hello = Protocol.hello(Protocol.AGENT).header().toBuilder();
            hello.setHello(hello.getHello().toBuilder().setNonce(ByteString.copyFrom(nonce)));
            Envelope ack;
            try {
                ack = link.request(hello, null, timeout);
            } catch (TransportException lost) {
                if (link.isOpen()) throw lost;
                throw new TransportException(lost.getMessage() + " before its handshake (a server with --tls closes plain"
                        + " connections, and one with --require-client-cert those without a trusted certificate)", lost);
            }
            if (!ack.hasHelloAck()) {
                throw new TransportException(address + " answered the handshake with " + ack.getBodyCase()
                        + (ack.hasError() ? ": " + ack.getError().getMessage() : ""));
            }
            link.publicKey = provenKey(address, ack.getHelloAck(), nonce, link.connection.peerKey());
            return link;
        } catch (RuntimeException e) {
            link.close();
            throw e;
        }
    }

    private static final SecureRandom NONCES = new SecureRandom();

    private static PublicKey provenKey(String address, HelloAck ack, byte[] nonce, PublicKey tlsKey) {
        if (ack.getPublicKey().isEmpty()) {
            throw new TransportException(address + " announced no identity key in its handshake");
        }
        PublicKey key;
        try {
            key = Statements.publicKey(ack.getPublicKey().toByteArray());
        } catch (IllegalArgumentException e) {
            throw new TransportException(address + " announced a malformed identity key: " + e.getMessage());
        }
        if (!Statements.verify(key, Statements.hello(nonce), ack.getNonceSignature().toByteArray())) {
            throw new TransportException(address + " did not prove it holds key " + Statements.fingerprint(key)
                    + " (bad handshake signature)");
        }
        if (tlsKey != null && !TlsConfig.sameKey(tlsKey, key)) {
            throw new TransportException(address + " announced key " + Statements.fingerprint(key)
                    + " but its TLS certificate has key " + Statements.fingerprint(tlsKey));
        }
        return key;
    }

    public String address() {
        return address;
    }

    /** The server's identity key, proven in the handshake. */
    public PublicKey publicKey() {
        return publicKey;
    }

    public long bytesSent() {
        return bytesSent.get();
    }

    /** Sends a request and waits for its reply (an error reply is returned, not thrown). */
    public Envelope request(Envelope.Builder request, ByteBuffer payload, Duration timeout) {
        long id = nextRequestId.getAndIncrement();
        var reply = new CompletableFuture<Envelope>();
        pending.put(id, reply);
        try {
            send(new Frame(request.setRequestId(id).build(), payload));
            return reply.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new TransportException(address + " did not answer " + request.getBodyCase() + " within " + timeout);
        } catch (ExecutionException e) {
            throw new TransportException(address + ": " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TransportException("interrupted waiting for " + address);
        } finally {
            pending.remove(id);
        }
    }

    /** Sends without waiting; returns the request id used. */
    public long send(Envelope.Builder message, ByteBuffer payload) {
        long id = nextRequestId.getAndIncrement();
        send(new Frame(message.setRequestId(id).build(), payload));
        return id;
    }

    private void send(Frame frame) {
        if (closedBecause != null || !connection.isOpen()) {
            throw new TransportException("connection to " + address + " is closed"
                    + (closedBecause != null ? ": " + closedBecause.getMessage() : ""));
        }
        bytesSent.addAndGet(frame.wireBytes());
        connection.send(frame);
    }

    void listen(byte[] sessionId, Consumer<Received> listener) {
        sessions.put(HexFormat.of().formatHex(sessionId), listener);
    }

    void unlisten(byte[] sessionId) {
        sessions.remove(HexFormat.of().formatHex(sessionId));
    }

    public boolean isOpen() {
        return closedBecause == null && connection.isOpen();
    }

    @Override
    public void onFrame(Connection c, Frame frame) {
        Envelope e = frame.header();
        if (e.hasResult() || e.hasResultSignature()
                || (e.hasError() && !e.getError().getSessionId().isEmpty() && !pending.containsKey(e.getRequestId()))) {
            byte[] sid = e.hasResult() ? e.getResult().getSessionId().toByteArray()
                    : e.hasResultSignature() ? e.getResultSignature().getSessionId().toByteArray()
                    : e.getError().getSessionId().toByteArray();
            Consumer<Received> l = sessions.get(HexFormat.of().formatHex(sid));
            if (l != null) {
                l.accept(new Received(e, dev.catena.core.protocol.Tensors.copy(frame.payload())));
            }
            return;
        }
        CompletableFuture<Envelope> waiting = pending.remove(e.getRequestId());
        if (waiting != null) {
            waiting.complete(e);
        }
    }

    @Override
    public void onClose(Connection c, Throwable cause) {
        closedBecause = cause != null ? cause : new TransportException("closed by " + address);
        var failure = new TransportException("connection to " + address + " lost", closedBecause);
        pending.values().forEach(f -> f.completeExceptionally(failure));
        sessions.values().forEach(l -> l.accept(new Received(Protocol.error(0, dev.catena.transport.proto.ErrorCode.ERROR_UNSPECIFIED,
                "connection to " + address + " lost").header(), ByteBuffer.allocate(0), true)));
    }

    @Override
    public void close() {
        connection.close();
    }
}

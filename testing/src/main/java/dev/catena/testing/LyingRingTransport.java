package dev.catena.testing;

import com.google.protobuf.ByteString;
import dev.catena.transport.proto.StepResult;
import dev.catena.transport.sign.Statements;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.FrameHandler;
import dev.catena.transport.spi.Listener;
import dev.catena.transport.spi.Transport;

import java.nio.ByteBuffer;
import java.security.PrivateKey;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntPredicate;

/**
 * The transport of a ring's last server that lies, at the positions {@code lieAt} picks:
 * <ul>
 * <li>{@link Lie#TOKEN}: the token it hands the first server is another one (its low bit flipped)
 * than the one it sampled and reports to the client;</li>
 * <li>{@link Lie#HIDDEN}: the final hidden state it reports to the client is not the one it sampled
 * from (negated, so that it makes another token), with the digest recomputed and the result signed
 * with the server's own key, as a lying server would: only the client's own head and sampler can tell.
 * (A false state that makes the same token is no disagreement; as in push mode, spot checks find it.)</li>
 * <li>{@link Lie#DROP}: the token is never sent: the ring stalls.</li>
 * </ul>
 */
public final class LyingRingTransport extends ForwardingTransport {
    public enum Lie { TOKEN, HIDDEN, DROP }

    private final Lie lie;
    private final IntPredicate lieAt;
    private final PrivateKey signer;
    public final AtomicLong lies = new AtomicLong();

    /** @param signer the server's own key, to sign the results it alters */
    public LyingRingTransport(Transport inner, Lie lie, IntPredicate lieAt, PrivateKey signer) {
        super(inner);
        this.lie = lie;
        this.lieAt = lieAt;
        this.signer = signer;
    }

    @Override
    public Listener listen(String bindAddress, FrameHandler handler) {
        if (lie != Lie.HIDDEN) return inner.listen(bindAddress, handler);
        Map<Connection, Connection> wrapped = new ConcurrentHashMap<>();
        return inner.listen(bindAddress, new FrameHandler() {
            private Connection wrap(Connection c) {
                return wrapped.computeIfAbsent(c, LyingRingTransport.this::hiddenLiar);
            }

            @Override public void onFrame(Connection c, Frame f) { handler.onFrame(wrap(c), f); }
            @Override public long maxInboundFrameBytes(Connection c) { return handler.maxInboundFrameBytes(wrap(c)); }
            @Override public void onOpen(Connection c) { handler.onOpen(wrap(c)); }

            @Override
            public void onClose(Connection c, Throwable cause) {
                handler.onClose(wrap(c), cause);
                wrapped.remove(c);
            }
        });
    }

    @Override
    protected Connection outbound(Connection c) {
        if (lie != Lie.TOKEN && lie != Lie.DROP) return c;
        return new DelegatingConnection(c) {
            @Override
            public void send(Frame frame) {
                if (frame.header().hasRingToken() && lieAt.test(frame.header().getRingToken().getPosition())) {
                    var t = frame.header().getRingToken();
                    lies.incrementAndGet();
                    if (lie == Lie.DROP) return;
                    var lied = t.toBuilder().setToken(t.getToken() ^ 1);
                    // It signs what it says, as a lying server would (the statement names the token): a proof against it.
                    if (signer != null) lied.setSignature(ByteString.copyFrom(Statements.sign(signer, Statements.step(lied.build()))));
                    frame = Frame.of(frame.header().toBuilder().setRingToken(lied).build());
                }
                c.send(frame);
            }
        };
    }

    /** A connection to a client on which ring results at the chosen positions carry another hidden state, signed. */
    private Connection hiddenLiar(Connection c) {
        return new DelegatingConnection(c) {
            @Override
            public void send(Frame frame) {
                var h = frame.header();
                if (h.hasResult() && h.getResult().hasRingToken() && lieAt.test(h.getResult().getPosition())
                        && frame.payload().remaining() > 0) {
                    ByteBuffer bad = ByteBuffer.allocate(frame.payload().remaining());
                    bad.put(frame.payload().duplicate()).flip();
                    // Every float negated (F32 wire: the sign bit is the top of each 4th byte): a state that makes another token.
                    for (int i = 3; i < bad.limit(); i += 4) bad.put(i, (byte) (bad.get(i) ^ 0x80));
                    ByteString digest = ByteString.copyFrom(sha256(bad));
                    StepResult r = h.getResult().toBuilder().setOutputDigest(digest).build();
                    lies.incrementAndGet();
                    // What it signs is what it says: inline (a ring result whose token was sent), or in the trailing
                    // ResultSignature, re-signed below.
                    if (!r.getSignature().isEmpty()) r = r.toBuilder().setSignature(ByteString.copyFrom(Statements.sign(signer, Statements.step(r)))).build();
                    else signed.put(r.getStep(), r);
                    frame = new Frame(h.toBuilder().setResult(r).build(), bad);
                } else if (h.hasResultSignature() && signed.containsKey(h.getResultSignature().getStep())) {
                    var rs = h.getResultSignature();
                    StepResult r = signed.remove(rs.getStep());
                    byte[] sig = Statements.sign(signer, Statements.step(r));
                    frame = Frame.of(h.toBuilder().setResultSignature(rs.toBuilder().setOutputDigest(r.getOutputDigest())
                            .setSignature(ByteString.copyFrom(sig))).build());
                }
                c.send(frame);
            }

            private final Map<Long, StepResult> signed = new ConcurrentHashMap<>();
        };
    }
}

package dev.catena.testing;

import dev.catena.transport.sign.Statements;

import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import dev.catena.transport.spi.Transport;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongPredicate;

/**
 * A faulty server's transport: outgoing pushes have one payload byte flipped when {@code corrupt(step)}
 * says so, and their digest recomputed over the bad bytes, as a buggy or lying server would send
 * them (a link that damages bytes leaves the digest stale, and the receiver drops the push).
 */
public final class CorruptingTransport extends ForwardingTransport {
    private final LongPredicate corrupt;
    public final AtomicLong corrupted = new AtomicLong();

    /** The sender's key, to sign what it corrupted as the server itself would; null: signatures left stale. */
    private final java.security.PrivateKey signer;

    /** Corrupts pushes without re-signing them: a man in the middle (receivers drop them: bad signature). */
    public CorruptingTransport(Transport inner, LongPredicate corrupt) {
        this(inner, corrupt, null);
    }

    /**
     * Corrupts pushes and signs them with {@code signer}, the sending server's own key: a lying server,
     * whose signed push and signed result for the same step are a proof against it.
     */
    public CorruptingTransport(Transport inner, LongPredicate corrupt, java.security.PrivateKey signer) {
        super(inner);
        this.corrupt = corrupt;
        this.signer = signer;
    }

    @Override
    protected Connection outbound(Connection c) {
        return new DelegatingConnection(c) {
            /** The pushes corrupted, by step, whose trailing signatures follow them. */
            private final java.util.Map<Long, dev.catena.transport.proto.Push> altered = new java.util.concurrent.ConcurrentHashMap<>();

            @Override
            public void send(Frame frame) {
                if (frame.header().hasPushSignature()) {
                    var ps = frame.header().getPushSignature();
                    var p = altered.remove(ps.getStep());
                    if (p != null) { // the signature of a push we altered: the liar signs what it sent; a man in the middle cannot
                        var b = ps.toBuilder().setOutputDigest(p.getDigest());
                        if (signer != null) {
                            b.setSignature(com.google.protobuf.ByteString.copyFrom(Statements.sign(signer, Statements.step(p))));
                        }
                        frame = Frame.of(frame.header().toBuilder().setPushSignature(b).build());
                    }
                    c.send(frame);
                    return;
                }
                if (frame.header().hasPush() && corrupt.test(frame.header().getPush().getStep()) && frame.payload().remaining() > 0) {
                    ByteBuffer bad = ByteBuffer.allocate(frame.payload().remaining());
                    bad.put(frame.payload().duplicate()).flip();
                    bad.put(0, (byte) (bad.get(0) ^ 0x40));
                    corrupted.incrementAndGet();
                    byte[] digest = sha256(bad);
                    var push = frame.header().getPush().toBuilder()
                            .setDigest(com.google.protobuf.ByteString.copyFrom(digest));
                    altered.keySet().removeIf(step -> step < push.getStep() - 64);
                    altered.put(push.getStep(), push.build());
                    frame = new Frame(frame.header().toBuilder().setPush(push).build(), bad);
                }
                c.send(frame);
            }
        };
    }
}

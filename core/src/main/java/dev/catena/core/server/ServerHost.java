package dev.catena.core.server;

import dev.catena.core.Identity;
import dev.catena.transport.proto.SignedStatement;
import dev.catena.transport.spi.Frame;

/** What a {@link SwarmServer}'s sessions use of it: its span's compute, its peers, its identity, its ring head, its records. */
final class ServerHost implements SessionHost {
    /** {@code -Dcatena.server.inlineSteps=false}: every step through the compute pool, as before (to compare). */
    private static final boolean INLINE_STEPS = !"false".equals(System.getProperty("catena.server.inlineSteps"));

    private final java.util.function.Supplier<String> address;
    private final ServerCounters counters;
    private final StepBatcher batcher; // null unless batching
    private final PeerLinks peers;
    private final Identity identity;
    private final RingHead ringHead;
    private final InconsistentPushes inconsistent;
    /** Steps computing on the span now: an inline step would wait on the transport's thread for them. */
    private final java.util.concurrent.atomic.AtomicInteger computing = new java.util.concurrent.atomic.AtomicInteger();

    ServerHost(java.util.function.Supplier<String> address, ServerCounters counters, StepBatcher batcher, PeerLinks peers,
               Identity identity, RingHead ringHead, InconsistentPushes inconsistent) {
        this.address = address;
        this.counters = counters;
        this.batcher = batcher;
        this.peers = peers;
        this.identity = identity;
        this.ringHead = ringHead;
        this.inconsistent = inconsistent;
    }

    @Override
    public boolean stepsInline() {
        return batcher == null && INLINE_STEPS && computing.get() == 0;
    }

    @Override
    public float[] forward(dev.catena.api.spi.SpanSession session, float[] hidden, int n, int position, boolean lastOnly) {
        if (batcher != null) return batcher.forward(session, hidden, n, position, lastOnly);
        computing.incrementAndGet();
        try {
            return SessionHost.super.forward(session, hidden, n, position, lastOnly);
        } finally {
            computing.decrementAndGet();
        }
    }

    @Override
    public String address() {
        return address.get();
    }

    @Override
    public ServerCounters counters() {
        return counters;
    }

    @Override
    public void push(String address, Frame push) {
        peers.push(address, push);
    }

    @Override
    public void pushSignature(String address, Frame signature) {
        peers.pushSignature(address, signature);
    }

    @Override
    public void connectToPeer(String address, java.security.PublicKey expectedKey) {
        peers.connect(address, expectedKey);
    }

    @Override
    public java.security.PrivateKey signingKey() {
        return identity.privateKey();
    }

    @Override
    public java.security.PublicKey publicKey() {
        return identity.publicKey();
    }

    @Override
    public void recordEvidence(SignedStatement push) {
        inconsistent.recordEvidence(push);
    }

    @Override
    public dev.catena.api.spi.ModelHead ringHead() {
        return ringHead.get();
    }

    @Override
    public void recordInconsistent(String sender) {
        inconsistent.recordSender(sender);
    }
}

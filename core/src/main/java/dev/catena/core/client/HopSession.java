package dev.catena.core.client;

import dev.catena.core.SwarmException;
import com.google.protobuf.ByteString;
import dev.catena.transport.proto.CloseSession;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.OpenSession;
import dev.catena.transport.proto.PeerRef;
import dev.catena.transport.proto.StepResult;
import dev.catena.transport.spi.TransportException;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * A session on one server of a route: opened and closed here, and the inputs it computed on (its
 * history), kept so that replacements for it can be brought to the same length.
 */
final class HopSession {
    /**
     * An input the hop computed on, the output it answered with (the next hop's input, the same buffer, so
     * kept at no cost but for the last hop: spot checks across compute kinds compare values) and its digest,
     * and its signed result.
     */
    record Sent(ByteBuffer input, int n, int position, ByteBuffer output, byte[] outputDigest, StepResult result,
                java.util.concurrent.CompletableFuture<byte[]> signature) {
        /** The result with its (trailing) signature, waiting up to {@code timeout}; unsigned if it never came. */
        StepResult signedResult(java.time.Duration timeout) {
            try {
                byte[] sig = signature.get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
                return result.toBuilder().setSignature(ByteString.copyFrom(sig)).build();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return result;
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                return result;
            }
        }
    }

    /** A hop as a spot check sees it: its server, blocks, key and inputs so far, copied. */
    record Snapshot(Hop hop, java.security.PublicKey key, List<Sent> history, boolean endsTheModel) {
    }

    final Hop hop;
    final ServerLink link;
    final byte[] id;
    final List<Sent> history = new ArrayList<>();
    /** Push mode: the server must be told its (new) next hop with the next step. */
    boolean nextChanged;

    private HopSession(Hop hop, ServerLink link, byte[] id) {
        this.hop = hop;
        this.link = link;
        this.id = id;
    }

    /**
     * Opens a session on {@code hop}'s server; its step results and errors go to {@code listener}.
     *
     * @param open the request, less the blocks, which come from the hop
     * @throws SwarmException.ServerFailure naming the server that could not be reached or refused
     */
    static HopSession open(SwarmClient client, Hop hop, OpenSession.Builder open, BiConsumer<HopSession, ServerLink.Received> listener) {
        ServerLink link;
        try {
            link = client.link(hop.address());
        } catch (TransportException e) {
            throw new SwarmException.Unreachable("cannot reach " + hop.address() + ": " + e.getMessage(), hop.address(), e);
        }
        open.setStart(hop.blocks().start()).setEnd(hop.blocks().end());
        Envelope reply;
        try {
            reply = link.request(Envelope.newBuilder().setOpen(open), null, client.requestTimeout());
        } catch (TransportException e) {
            throw new SwarmException.Unreachable(hop.address() + ": " + e.getMessage(), hop.address(), e);
        }
        if (!reply.hasOpened()) {
            throw new SwarmException.Refused(hop.address() + " refused a session on blocks " + hop.blocks() + ": "
                    + (reply.hasError() ? reply.getError().getCode() + " " + reply.getError().getMessage() : reply.getBodyCase()),
                    hop.address(), reply.hasError() ? reply.getError().getCode().name() : null);
        }
        var opened = new HopSession(hop, link, reply.getOpened().getSessionId().toByteArray());
        link.listen(opened.id, r -> listener.accept(opened, r));
        return opened;
    }

    /** How another server's push names this session. */
    PeerRef peer() {
        var ref = PeerRef.newBuilder().setAddress(hop.address()).setSessionId(ByteString.copyFrom(id));
        if (link.publicKey() != null) ref.setPublicKey(ByteString.copyFrom(link.publicKey().getEncoded()));
        return ref.build();
    }

    /** Closes the session, waiting for the answer up to {@code timeout}; never throws. */
    void closeQuietly(Duration timeout) {
        try {
            link.unlisten(id);
            link.request(Envelope.newBuilder().setClose(CloseSession.newBuilder().setSessionId(ByteString.copyFrom(id))), null, timeout);
        } catch (RuntimeException ignored) {
            // the server frees it at its idle timeout, or already did when the connection went
        }
    }

    /**
     * Closes a failed server's session (gone, hanging, or blamed for a bad result) without waiting
     * for the answer: if it still lives it frees the session, if not its idle timeout or closed
     * connection does.
     */
    void closeWithoutWaiting() {
        link.unlisten(id);
        try {
            link.send(Envelope.newBuilder().setClose(CloseSession.newBuilder().setSessionId(ByteString.copyFrom(id))), null);
        } catch (RuntimeException gone) {
            // the connection is closed: the server freed the session when it went
        }
    }
}

package dev.catena.core.client;

import com.google.protobuf.ByteString;
import dev.catena.api.BlockRange;
import dev.catena.core.protocol.Tensors;
import dev.catena.transport.proto.CloseSession;
import dev.catena.transport.proto.DType;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.ErrorCode;
import dev.catena.transport.proto.OpenSession;
import dev.catena.transport.proto.PeerRef;
import dev.catena.transport.proto.Step;
import dev.catena.transport.proto.StepResult;
import dev.catena.transport.spi.TransportException;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The client's side of one inference session over a route of servers whose spans chain to cover
 * the model. Each step sends the client's own copy of every hop's input (the source of truth) and
 * accepts hop k+1's result only when its input digest equals the digest of hop k's output; in
 * {@link Mode#PUSH} the servers also push outputs to the next hop, which usually computes before
 * the client's copy arrives. Not thread-safe: one step at a time.
 */
public final class RemoteSession implements AutoCloseable {

    public enum Mode { RELAY, PUSH }

    /** One server of the route and the blocks it runs. */
    public record Hop(String address, BlockRange blocks) {
    }

    private record Event(int hop, ServerLink.Received received) {
    }

    private final List<ServerLink> links;
    private final List<byte[]> sessionIds;
    private final int nEmbd;
    private final DType wireDtype;
    private final Duration stepTimeout;
    private final Duration closeTimeout;
    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final ClientCounters counters;
    private long step;

    private RemoteSession(List<ServerLink> links, List<byte[]> sessionIds, int nEmbd, DType wireDtype, Duration stepTimeout,
                          Duration closeTimeout, ClientCounters counters) {
        this.closeTimeout = closeTimeout;
        this.links = links;
        this.sessionIds = sessionIds;
        this.nEmbd = nEmbd;
        this.wireDtype = wireDtype;
        this.stepTimeout = stepTimeout;
        this.counters = counters;
        for (int k = 0; k < links.size(); k++) {
            int hop = k;
            links.get(k).listen(sessionIds.get(k), r -> events.add(new Event(hop, r)));
        }
    }

    /**
     * Opens a session on every hop, last first, so that in push mode each server learns the next
     * server's session id at open.
     */
    public static RemoteSession open(SwarmClient client, String modelId, int nEmbd, List<Hop> route, Mode mode,
                                     int maxLength, DType wireDtype, Duration stepTimeout) {
        List<ServerLink> links = new ArrayList<>();
        List<byte[]> ids = new ArrayList<>();
        for (int i = 0; i < route.size(); i++) {
            links.add(null);
            ids.add(null);
        }
        try {
            for (int k = route.size() - 1; k >= 0; k--) {
                Hop hop = route.get(k);
                ServerLink link;
                try {
                    link = client.link(hop.address());
                } catch (TransportException e) {
                    throw new SwarmException("cannot reach " + hop.address() + ": " + e.getMessage(), hop.address(), e);
                }
                var open = OpenSession.newBuilder().setModelId(modelId).setStart(hop.blocks().start())
                        .setEnd(hop.blocks().end()).setMaxLength(maxLength).setWireDtype(wireDtype)
                        .setLastOnly(k == route.size() - 1);
                if (mode == Mode.PUSH && k + 1 < route.size()) {
                    open.setNext(PeerRef.newBuilder().setAddress(route.get(k + 1).address())
                            .setSessionId(ByteString.copyFrom(ids.get(k + 1))));
                }
                Envelope reply;
                try {
                    reply = link.request(Envelope.newBuilder().setOpen(open), null, client.requestTimeout());
                } catch (TransportException e) {
                    throw new SwarmException(hop.address() + ": " + e.getMessage(), hop.address(), e);
                }
                if (!reply.hasOpened()) {
                    throw new SwarmException(hop.address() + " refused a session on blocks " + hop.blocks() + ": "
                            + (reply.hasError() ? reply.getError().getCode() + " " + reply.getError().getMessage() : reply.getBodyCase()),
                            hop.address(), null);
                }
                links.set(k, link);
                ids.set(k, reply.getOpened().getSessionId().toByteArray());
            }
            return new RemoteSession(List.copyOf(links), List.copyOf(ids), nEmbd, wireDtype, stepTimeout, client.requestTimeout(),
                    client.counters());
        } catch (RuntimeException e) {
            for (int k = 0; k < links.size(); k++) {
                if (links.get(k) != null) closeQuietly(links.get(k), ids.get(k), client.requestTimeout());
            }
            throw e;
        }
    }

    /**
     * Runs {@code n} tokens' hidden states through the route at {@code position}; returns the final
     * span's output: the last token's row {@code [1, nEmbd]}.
     *
     * @throws SwarmException when a server refuses the step or the chain is not valid in time
     */
    public float[] step(float[] hidden, int n, int position) {
        long s = ++step;
        int hops = links.size();
        ByteBuffer[] inputs = new ByteBuffer[hops];
        byte[][] expected = new byte[hops][];
        List<List<ServerLink.Received>> pending = new ArrayList<>();
        for (int k = 0; k < hops; k++) pending.add(new ArrayList<>());
        inputs[0] = Tensors.encode(hidden, wireDtype);
        expected[0] = Tensors.digest(inputs[0]);
        sendStep(0, s, position, n, inputs[0], expected[0]);
        long deadline = System.nanoTime() + stepTimeout.toNanos();
        int accepted = 0;
        ByteBuffer output = null;
        while (accepted < hops) {
            Event ev = poll(deadline, s, accepted);
            StepResult r = ev.received().header().getResult();
            if (ev.received().header().hasError()) {
                var err = ev.received().header().getError();
                if (err.getCode() == ErrorCode.ERROR_UNSPECIFIED) {
                    throw new SwarmException("step " + s + ": " + err.getMessage(), links.get(ev.hop()).address(), null);
                }
                throw new SwarmException(links.get(ev.hop()).address() + " refused step " + s + ": " + err.getCode() + " "
                        + err.getMessage() + (err.getCode() == ErrorCode.POSITION_GAP ? " (length " + err.getLength() + ")" : ""),
                        links.get(ev.hop()).address(), null);
            }
            if (r.getStep() != s) {
                continue; // a late or duplicate result of an earlier step
            }
            if (!Arrays.equals(r.getOutputDigest().toByteArray(), Tensors.digest(ev.received().payload()))) {
                String bad = links.get(ev.hop()).address();
                throw new SwarmException("step " + s + ": the result from " + bad + " was damaged in transit", bad, null);
            }
            counters.results.incrementAndGet();
            if (r.getCorrected()) counters.corrected.incrementAndGet();
            pending.get(ev.hop()).add(ev.received());
            // Accept hops in order: hop k's result is valid when it computed on exactly what the client holds as its input.
            while (accepted < hops) {
                int k = accepted;
                ServerLink.Received match = null;
                for (var it = pending.get(k).iterator(); it.hasNext(); ) {
                    var candidate = it.next();
                    it.remove();
                    if (Arrays.equals(candidate.header().getResult().getInputDigest().toByteArray(), expected[k])) {
                        match = candidate;
                        break;
                    }
                    counters.mismatched.incrementAndGet(); // computed on a bad push: its correction will follow
                }
                if (match == null) break;
                accepted++;
                output = match.payload();
                if (k + 1 < hops) {
                    inputs[k + 1] = output;
                    expected[k + 1] = Tensors.digest(output);
                    sendStep(k + 1, s, position, n, output, expected[k + 1]); // the client's own copy, also the fallback for a lost push
                }
            }
        }
        return Tensors.decode(output, Tensors.meta(wireDtype, output.remaining() / Tensors.elementBytes(wireDtype) / nEmbd, nEmbd), nEmbd);
    }

    private Event poll(long deadline, long s, int accepted) {
        try {
            Event ev = events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (ev == null) {
                throw new SwarmException("step " + s + ": no valid result from " + links.get(accepted).address() + " within "
                        + stepTimeout, links.get(accepted).address(), null);
            }
            return ev;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SwarmException("interrupted in step " + s);
        }
    }

    private void sendStep(int hop, long s, int position, int n, ByteBuffer input, byte[] digest) {
        var st = Step.newBuilder().setSessionId(ByteString.copyFrom(sessionIds.get(hop))).setStep(s).setPosition(position)
                .setHidden(Tensors.meta(wireDtype, n, nEmbd)).setDigest(ByteString.copyFrom(digest));
        try {
            links.get(hop).send(Envelope.newBuilder().setStep(st), input.duplicate());
        } catch (TransportException e) {
            throw new SwarmException("step " + s + " to " + links.get(hop).address() + ": " + e.getMessage(),
                    links.get(hop).address(), e);
        }
    }

    private static void closeQuietly(ServerLink link, byte[] id, Duration timeout) {
        try {
            link.unlisten(id);
            link.request(Envelope.newBuilder().setClose(CloseSession.newBuilder().setSessionId(ByteString.copyFrom(id))), null, timeout);
        } catch (RuntimeException ignored) {
            // the server frees it at its idle timeout, or already did when the connection went
        }
    }

    @Override
    public void close() {
        closeExcept(null);
    }

    /**
     * Closes the session on every server; on {@code failed} (gone, hanging, or blamed for a bad
     * result) without waiting for the answer: if it still lives it frees the session, if not its
     * idle timeout or closed connection does.
     */
    public void closeExcept(String failed) {
        for (int k = 0; k < links.size(); k++) {
            if (links.get(k).address().equals(failed)) {
                links.get(k).unlisten(sessionIds.get(k));
                try {
                    links.get(k).send(Envelope.newBuilder().setClose(CloseSession.newBuilder()
                            .setSessionId(ByteString.copyFrom(sessionIds.get(k)))), null);
                } catch (RuntimeException gone) {
                    // the connection is closed: the server freed the session when it went
                }
            } else {
                closeQuietly(links.get(k), sessionIds.get(k), closeTimeout);
            }
        }
    }
}

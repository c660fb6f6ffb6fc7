package dev.catena.core.server;

import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.Sampler;
import dev.catena.api.spi.SamplingParams;
import dev.catena.transport.proto.RingRole;
import dev.catena.transport.proto.RingSampling;

import java.util.List;
import java.util.TreeMap;

/**
 * A session's part in a ring (README, "Ring mode"): the window that bounds how far it runs ahead of
 * the client's verification and, on the route's last server, the head and a sampler identical to the
 * client's, with copies of its state so that a rewind resumes it exactly. Used on the session's thread.
 */
final class RingState implements AutoCloseable {
    static final int MAX_WINDOW = 64;

    private final int window;
    private final boolean embeds;
    private final ModelHead head;
    private final RingSampling sampling;
    private Sampler sampler;
    /** The sampler's state before it sampled after the step starting at each position (the last window's). */
    private final TreeMap<Integer, Sampler> before = new TreeMap<>();
    private int verified;
    private int clientEnd;

    private RingState(int window, boolean embeds, ModelHead head, RingSampling sampling) {
        this.window = window;
        this.embeds = embeds;
        this.head = head;
        this.sampling = sampling;
        if (sampling != null) {
            this.sampler = head.sampler(params(sampling));
            for (int t : sampling.getHistoryList()) sampler.accept(t);
            sampler.copy().close(); // a backend that cannot copy its samplers cannot rewind them: refused at open
        }
    }

    /**
     * The ring part an open asks for, or null for a session outside a ring.
     *
     * @param head the server's head, opened on first use
     * @throws IllegalArgumentException for a window out of range or a token outside the vocabulary
     */
    static RingState of(RingRole role, java.util.function.Supplier<ModelHead> head) {
        if (role == null || (!role.getEmbeds() && !role.hasSampling() && role.getWindow() == 0)) return null;
        if (role.getWindow() < 1 || role.getWindow() > MAX_WINDOW) {
            throw new IllegalArgumentException("a ring window is 1.." + MAX_WINDOW + " steps, got " + Integer.toUnsignedString(role.getWindow()));
        }
        ModelHead h = role.getEmbeds() || role.hasSampling() ? head.get() : null;
        if (role.hasSampling()) {
            for (int t : role.getSampling().getHistoryList()) {
                if (t < 0 || t >= h.nVocab()) throw new IllegalArgumentException("ring history token " + Integer.toUnsignedString(t)
                        + " is outside the vocabulary [0, " + h.nVocab() + ")");
            }
        }
        return new RingState(role.getWindow(), role.getEmbeds(), h, role.hasSampling() ? role.getSampling() : null);
    }

    private static SamplingParams params(RingSampling s) {
        return new SamplingParams(s.getGreedy(), s.getTemperature(), s.getTopK(), s.getTopP(), s.getMinP(),
                s.getRepeatPenalty(), s.getRepeatLastN(), s.getSeed());
    }

    boolean embeds() {
        return embeds;
    }

    boolean samples() {
        return sampler != null;
    }

    /** Whether a pushed step (or a ring token) at {@code position} is within the window; else it waits for an ack. */
    boolean allows(int position) {
        return position < Math.max(verified, clientEnd) + window;
    }

    /**
     * The client verified every position below {@code position}; {@code length} caps it (a client cannot
     * have verified what this server has not computed), so that each acknowledgement lets it run at most
     * the window further.
     */
    void ack(int position, int length) {
        verified = Math.max(verified, Math.min(position, length));
    }

    /**
     * The client's own step over {@code [start, end)}: its input is the truth, the window starts after
     * it, and acknowledgements past its start are void (a client rewinding over and over gets at most
     * the window of steps run for each of its steps).
     */
    void clientStep(int start, int end) {
        verified = Math.min(verified, start);
        clientEnd = end;
    }

    /** A ring token's hidden state {@code [1, nEmbd]}. */
    float[] embed(int token) {
        if (token < 0 || token >= head.nVocab()) throw new IllegalArgumentException("token " + token + " is outside the vocabulary");
        return head.embed(new int[]{token});
    }

    /**
     * Samples after the step at {@code position} whose last row is {@code lastRow}; a step at a position
     * sampled before (a rewind, a correction) first puts the sampler back to its state then.
     *
     * @return the token, and whether the ring goes on with it (-1 when it stops: end of text or max tokens)
     */
    synchronized int[] sample(float[] lastRow, int position, int n) {
        Sampler saved = before.get(position);
        if (saved != null) {
            sampler.close();
            sampler = saved.copy();
        }
        var later = before.tailMap(position, true);
        later.values().forEach(Sampler::close);
        later.clear();
        before.put(position, sampler.copy());
        while (before.size() > window + 2) before.pollFirstEntry().getValue().close(); // rewinds never go further back
        int token = sampler.sample(head.logits(lastRow, 1, List.of(0)));
        boolean goesOn = position + n < sampling.getStopPosition()
                && !(sampling.getStopAtEos() && head.isEndOfGeneration(token));
        return new int[]{token, goesOn ? 1 : 0};
    }

    /** Also from a thread other than the session's (a server closing while a ring step samples): hence the monitor. */
    @Override
    public synchronized void close() {
        if (sampler != null) sampler.close();
        before.values().forEach(Sampler::close);
        before.clear();
    }
}

package dev.catena.core.client;

import dev.catena.core.SwarmException;
import dev.catena.transport.proto.Envelope;
import dev.catena.transport.proto.InfoRequest;
import dev.catena.transport.proto.Proof;
import dev.catena.transport.proto.ServerInfo;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportException;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** A client's connections to servers, one per address, shared by its sessions. */
public final class SwarmClient implements AutoCloseable {
    private final Transport transport;
    private final Duration requestTimeout;
    private final Map<String, ServerLink> links = new ConcurrentHashMap<>();
    private final ClientCounters counters = new ClientCounters();
    private final RttProbe rtts;
    private final java.util.List<Proof> proofs = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile java.nio.file.Path proofDirectory;
    private static final System.Logger LOG = System.getLogger(SwarmClient.class.getName());

    public SwarmClient(Transport transport, Duration requestTimeout) {
        this.transport = transport;
        this.requestTimeout = requestTimeout;
        this.rtts = new RttProbe(this::info, requestTimeout);
    }

    /** The open link to {@code address}, connecting (and handshaking) when there is none. */
    public ServerLink link(String address) {
        return link(address, requestTimeout);
    }

    private ServerLink link(String address, Duration connectTimeout) {
        ServerLink link = links.get(address);
        if (link != null && link.isOpen()) {
            return link;
        }
        ServerLink fresh = ServerLink.connect(transport, address, connectTimeout);
        java.security.PublicKey expected = expectedKeys.get(address);
        if (expected != null && !expected.equals(fresh.publicKey())) {
            fresh.close();
            throw new dev.catena.transport.spi.TransportException(address + " proved key " + dev.catena.transport.sign.Statements.fingerprint(
                    fresh.publicKey()) + " but its directory record names key " + dev.catena.transport.sign.Statements.fingerprint(expected));
        }
        // Two threads may have connected at once: the first open link wins, the other is closed unused.
        ServerLink winner = links.compute(address, (a, current) -> current != null && current.isOpen() ? current : fresh);
        if (winner != fresh) fresh.close();
        return winner;
    }

    /**
     * The round trip to {@code address} in ms, to plan routes by latency: the first {@link #info}
     * request's (after connecting), kept.
     *
     * @throws SwarmException naming the server when it cannot be reached or does not answer
     */
    public double roundTripMillis(String address) {
        return roundTripMillis(address, requestTimeout);
    }

    /** As {@link #roundTripMillis(String)}, giving up after {@code timeout} (to connect, and to answer). */
    public double roundTripMillis(String address, Duration timeout) {
        return rtts.of(address, timeout);
    }

    /**
     * What the server at {@code address} serves, asked now; the request's round trip is kept as the
     * server's (the first one measured).
     *
     * @throws SwarmException naming the server when it cannot be reached or answers something else
     */
    public ServerInfo info(String address, Duration timeout) {
        try {
            ServerLink l = link(address, timeout);
            long started = System.nanoTime();
            var reply = l.request(Envelope.newBuilder().setInfo(InfoRequest.getDefaultInstance()), null, timeout);
            double millis = (System.nanoTime() - started) / 1e6;
            if (!reply.hasServerInfo()) {
                throw new SwarmException.Refused(address + " answered the info request with " + reply.getBodyCase(), address, null);
            }
            rtts.record(address, millis);
            return reply.getServerInfo();
        } catch (TransportException e) {
            throw new SwarmException.Unreachable("cannot reach " + address + ": " + e.getMessage(), address, e);
        }
    }

    /** The round trips measured so far, ms by address. */
    public Map<String, Double> roundTrips() {
        return rtts.known();
    }

    /** The keys signed directory records name, by address: a server there must prove that key. */
    private final Map<String, java.security.PublicKey> expectedKeys = new ConcurrentHashMap<>();

    /** The server at {@code address} must prove {@code key} in its handshake (its signed directory record names it). */
    void expectKey(String address, java.security.PublicKey key) {
        if (key != null) expectedKeys.put(address, key);
    }

    /** Round trips to servers, measured once and shared by this client's sessions. */
    RttProbe rtts() {
        return rtts;
    }

    public Duration requestTimeout() {
        return requestTimeout;
    }

    public ClientCounters counters() {
        return counters;
    }

    private final Set<String> convicted = ConcurrentHashMap.newKeySet();
    /** The convicted servers' identities (X.509 encodings): the same key at another address is convicted too. */
    private final Set<java.nio.ByteBuffer> convictedKeys = ConcurrentHashMap.newKeySet();
    /** The share of results whose signatures are verified by default: a liar is caught within a few steps. */
    public static final double DEFAULT_RESULT_SIGNATURE_CHECKS = 0.125;
    private volatile double resultSignatureChecks = DEFAULT_RESULT_SIGNATURE_CHECKS;
    private java.util.SplittableRandom signatureSample = new java.util.SplittableRandom(new java.security.SecureRandom().nextLong());

    /**
     * The share of results whose trailing signatures are verified, at random (1: all). Validity rests on the
     * digest chain; signatures make servers accountable, and a server that sends a bad one is caught at the
     * first sampled step and replaced. Results of spot-check replays, which may become evidence, are all verified.
     */
    public void resultSignatureChecks(double fraction) {
        resultSignatureChecks(fraction, new java.security.SecureRandom().nextLong());
    }

    /** {@link #resultSignatureChecks(double)}, the sample drawn from {@code seed} (tests; servers must not know it). */
    public void resultSignatureChecks(double fraction, long seed) {
        if (!(fraction >= 0 && fraction <= 1)) throw new IllegalArgumentException("the share of result signatures checked must be in [0, 1], got " + fraction);
        this.resultSignatureChecks = fraction;
        this.signatureSample = new java.util.SplittableRandom(seed);
    }

    double resultSignatureChecks() {
        return resultSignatureChecks;
    }

    /** A generator for one session's sample of result signatures to verify, split from this client's. */
    synchronized java.util.SplittableRandom signatureSample() {
        return signatureSample.split();
    }

    private volatile double spotCheckFraction;
    private java.util.SplittableRandom spotCheckDraws = new java.util.SplittableRandom(new java.security.SecureRandom().nextLong());

    private final ReplayBudget spotCheckBudget = new ReplayBudget();

    /**
     * Re-runs this fraction of the steps' work on another server of the same span, off the critical path (0: none;
     * default 0 here, 0.01 from the public builders): a check replays a hop's whole history, made when the work
     * this client ran has paid for it ({@link ReplayBudget}, kept when the fraction changes); {@code seed} chooses which
     * steps and hops.
     */
    public void spotChecks(double fraction, long seed) {
        if (!(fraction >= 0 && fraction <= 1)) throw new IllegalArgumentException("the spot-check fraction must be in [0, 1], got " + fraction);
        this.spotCheckFraction = fraction;
        synchronized (this) {
            this.spotCheckDraws = new java.util.SplittableRandom(seed);
        }
    }

    ReplayBudget spotCheckBudget() {
        return spotCheckBudget;
    }

    private volatile double spotCheckTolerance = OutputTolerance.EPSILON;

    /**
     * Spot checks between servers of different (or unknown) compute kinds: how far an output row may be from
     * the other's and still agree, in relative L2 and in its largest element (default 0.1; {@link OutputTolerance}).
     */
    public void spotCheckTolerance(double epsilon) {
        if (!(epsilon > 0 && epsilon < 1)) throw new IllegalArgumentException("the spot-check tolerance must be in (0, 1), got " + epsilon);
        this.spotCheckTolerance = epsilon;
    }

    double spotCheckTolerance() {
        return spotCheckTolerance;
    }

    private volatile int ringWindow = RingSpec.DEFAULT_WINDOW;

    /** Ring mode: how many steps the servers may run beyond what this client verified (1..64, default 8). */
    public void ringWindow(int window) {
        if (window < 1 || window > 64) throw new IllegalArgumentException("the ring window is 1..64 steps, got " + window);
        this.ringWindow = window;
    }

    public int ringWindow() {
        return ringWindow;
    }

    double spotCheckFraction() {
        return spotCheckFraction;
    }

    /**
     * A generator for one session's spot-check draws (which steps, hops and servers), split from this client's: each
     * session draws anew (one seed per session would check the same positions in every generation), reproducibly.
     */
    synchronized java.util.SplittableRandom spotCheckDraws() {
        return spotCheckDraws.split();
    }

    /** Servers a spot check convicted of wrong outputs: never used again by this client. */
    public Set<String> convicted() {
        return Set.copyOf(convicted);
    }

    /** Whether the server at {@code address}, or its identity key (proven, or named by its signed record), was convicted. */
    public boolean isConvicted(String address) {
        if (convicted.contains(address)) return true;
        ServerLink link = links.get(address);
        java.security.PublicKey key = link != null && link.publicKey() != null ? link.publicKey() : expectedKeys.get(address);
        return key != null && convictedKeys.contains(java.nio.ByteBuffer.wrap(key.getEncoded()));
    }

    /** Convicts {@code address} and its identity key on {@code proof} (kept, and written where told to; null: none to keep). */
    void convict(String address, Proof proof) {
        ServerLink link = links.get(address);
        if (link != null && link.publicKey() != null) convictedKeys.add(java.nio.ByteBuffer.wrap(link.publicKey().getEncoded()));
        if (convicted.add(address) && proof != null) recordProof(proof, address);
    }

    /** Where to write each proof of misbehaviour found ({@code proof-N.proof}); null: keep them in memory only. */
    public void proofDirectory(java.nio.file.Path dir) {
        this.proofDirectory = dir;
    }

    /** Proofs of misbehaviour found so far. */
    public java.util.List<Proof> proofs() {
        return java.util.List.copyOf(proofs);
    }

    /** Keeps a proof that {@code server} misbehaved (it was checked first), and writes it where told to. */
    void recordProof(Proof proof, String server) {
        proofs.add(proof);
        counters.proofs.incrementAndGet();
        java.nio.file.Path dir = proofDirectory;
        String where = "";
        if (dir != null) {
            try {
                java.nio.file.Files.createDirectories(dir);
                java.nio.file.Path file = dir.resolve("proof-" + System.currentTimeMillis() + "-" + proofs.size() + ".proof");
                java.nio.file.Files.write(file, proof.toByteArray());
                where = ", written to " + file;
            } catch (java.io.IOException e) {
                where = ", not written: " + e.getMessage();
            }
        }
        LOG.log(System.Logger.Level.WARNING, "proof of misbehaviour against {0}: {1}{2}", server, proof.getNote(), where);
    }

    /** Bytes this client sent to each server. */
    public Map<String, Long> bytesSent() {
        Map<String, Long> m = new java.util.TreeMap<>();
        links.forEach((a, l) -> m.put(a, l.bytesSent()));
        return m;
    }

    @Override
    public void close() {
        links.values().forEach(ServerLink::close);
        links.clear();
    }
}

package dev.catena.core;

import dev.catena.core.client.FaultTolerantSession;
import dev.catena.core.client.Hop;
import dev.catena.core.client.SwarmInference;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TlsConfig;
import dev.catena.transport.spi.TransportConfig;

import java.security.cert.X509Certificate;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A client of a swarm: the model's head (tokenizer, embeddings, LM head, sampler) here, its blocks
 * on the servers. Each generation plans a route over every server known (replicas included), opens
 * a session on each hop and survives servers failing. Build one with {@link Catena#client(Path)}:
 * <pre>{@code
 * try (CatenaClient c = Catena.client(model).peers("10.0.0.1:7001", "10.0.0.2:7001").mode(Mode.PUSH).build()) {
 *     Generation g = c.generate(GenerationRequest.builder("Once upon a time").greedy().build());
 * }
 * }</pre>
 */
public final class CatenaClient implements Generator {
    private final Transport transport;
    private final SwarmInference inference;
    private final Engine engine;
    private final SwarmMonitor monitor;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private CatenaClient(Transport transport, SwarmInference inference, int context, int trainedContext, String chatTemplate, Mode mode,
                         WireFormat wire) {
        this.transport = transport;
        this.inference = inference;
        this.engine = new Engine(inference.head(), context, trainedContext, chatTemplate, maxLength -> new SwarmOpened(inference.openSession(mode.internal(), maxLength,
                wire.internal())));
        this.monitor = new SwarmMonitor(() -> inference.directory().servers(inference.modelId()),
                (address, timeout) -> inference.client().info(address, timeout), Duration.ofSeconds(1), Duration.ofSeconds(1));
    }

    /**
     * {@inheritDoc}
     *
     * @throws dev.catena.core.SwarmException when no route covers the model or failovers are exhausted
     */
    @Override
    public Generation generate(GenerationRequest request) {
        return engine.generate(request);
    }

    /**
     * {@inheritDoc} The route opens at the first token.
     *
     * @throws dev.catena.core.SwarmException (while iterating) when no route covers the model or failovers are exhausted
     */
    @Override
    public TokenStream stream(GenerationRequest request) {
        return engine.stream(request);
    }

    /** {@inheritDoc} Each server of the route reserves KV for {@code maxLength} tokens. */
    @Override
    public ChatSession openSession(int maxLength) {
        return engine.openSession(maxLength);
    }

    @Override
    public List<Integer> tokenize(String text, boolean bos) {
        return engine.tokenize(text, bos);
    }

    @Override
    public ChatPrompt chatPrompt(List<ChatMessage> messages) {
        return engine.chatPrompt(messages);
    }

    @Override
    public String detokenize(List<Integer> tokens) {
        return engine.detokenize(tokens);
    }

    /** Every failover of this client's generations so far. */
    public List<Failover> failovers() {
        return inference.failovers().stream().map(SwarmOpened::failover).toList();
    }

    /**
     * {@inheritDoc} The servers are those of the peer list or the directory, asked every second (1 s timeout)
     * while the status is read; KV in use sums every reachable server's reservations, other clients' included.
     */
    @Override
    public SwarmStatus status() {
        var probed = monitor.servers();
        List<Integer> coverage = SwarmStatus.coverage(inference.nLayer(), probed.servers());
        List<SwarmStatus.Session> sessions = engine.sessions();
        var counters = inference.client().counters();
        long kv = probed.servers().stream().filter(SwarmStatus.Server::reachable).mapToLong(s -> s.kvBytesTotal() - s.kvBytesFree()).sum();
        return new SwarmStatus(inference.modelId(), inference.nLayer(), probed.time(), probed.servers(), coverage,
                SwarmStatus.gaps(coverage), sessions, inference.recentFailovers().stream().map(CatenaClient::event).toList(),
                new SwarmStatus.Counters(inference.failoverCount(), counters.pushed.get(), counters.mismatched.get(), sessions.size(), kv,
                        counters.ringVerified.get(), counters.ringRewound.get(), counters.turnaround.percentileMillis(0.5),
                        counters.turnaround.percentileMillis(0.9)));
    }

    private static SwarmStatus.FailoverEvent event(SwarmInference.Recorded r) {
        var f = r.failover();
        var blocks = f.replacements().isEmpty() ? null : new dev.catena.api.BlockRange(f.replacements().getFirst().blocks().start(),
                f.replacements().getLast().blocks().end());
        return new SwarmStatus.FailoverEvent(r.time(), blocks, f.server(), f.replacements().stream().map(Hop::address).toList(), f.reason());
    }

    /** Closes what is still open (freeing its server sessions), the connections and the head. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        monitor.close();
        try {
            engine.close();
        } finally {
            try {
                inference.close();
            } finally {
                transport.close();
            }
        }
    }

    /** Builds a {@link CatenaClient}: the servers come from {@link #peers} or a {@link #directory}. */
    public static final class Builder extends GeneratorBuilder<Builder> {
        private List<String> peers;
        private URI directory;
        private Mode mode = Mode.PUSH;
        private WireFormat wire = WireFormat.F32;
        private Duration requestTimeout = Duration.ofSeconds(10);
        private Duration stepTimeout = Duration.ofSeconds(30);
        private int maxFailovers = 4;
        private Duration ban = Duration.ofSeconds(5);
        private Duration coverageWait = Duration.ZERO;
        private String transport;
        private String backend;
        private List<X509Certificate> tlsTrusted;
        private Identity identity;
        private Path proofDirectory;
        private double spotCheck = 0.01;
        private Long spotCheckSeed;
        private double spotCheckTolerance = 0.1;
        private double signatureChecks = dev.catena.core.client.SwarmClient.DEFAULT_RESULT_SIGNATURE_CHECKS;
        private int ringWindow = dev.catena.core.client.RingSpec.DEFAULT_WINDOW;

        Builder(Path model) {
            super(model);
        }

        /**
         * TLS 1.3 to every server, accepting only servers whose certificate has the key of one of
         * {@code trusted} (their {@code identity.crt}); a server with another key is refused at the handshake.
         */
        public Builder tls(List<X509Certificate> trusted) {
            if (trusted.isEmpty()) throw new IllegalArgumentException("TLS needs at least one trusted server certificate");
            this.tlsTrusted = List.copyOf(trusted);
            return this;
        }

        /** This client's identity, presented over TLS to servers that require client certificates (mutual TLS). */
        public Builder identity(Identity identity) {
            this.identity = Objects.requireNonNull(identity, "identity");
            return this;
        }

        /**
         * Re-runs this fraction of steps on another server of the same blocks, off the critical path, and
         * compares the outputs, bit for bit between servers of one compute kind, else within
         * {@link #spotCheckTolerance}; on a disagreement a third server decides and the odd one out is
         * never used again (default 0.01; 0: none). Needs replicas: a hop no other server covers is not checked.
         */
        public Builder spotCheck(double fraction) {
            if (!(fraction >= 0 && fraction <= 1)) throw new IllegalArgumentException("spotCheck must be in [0, 1], got " + fraction);
            this.spotCheck = fraction;
            return this;
        }

        /**
         * The share of results whose signatures are verified, chosen at random (default 0.125; 1: every one).
         * Validity rests on the digest chain, which checks every result; signatures make servers accountable,
         * and a server sending bad ones is caught at the first sampled step, banned and replaced.
         */
        public Builder signatureChecks(double fraction) {
            if (!(fraction >= 0 && fraction <= 1)) throw new IllegalArgumentException("signatureChecks must be in [0, 1], got " + fraction);
            this.signatureChecks = fraction;
            return this;
        }

        /**
         * {@link Mode#RING}: how many steps the servers may run beyond what this client verified (1..64,
         * default 8); a client that falls behind or goes quiet stalls the ring there.
         */
        public Builder ringWindow(int steps) {
            if (steps < 1 || steps > 64) throw new IllegalArgumentException("ringWindow must be in [1, 64], got " + steps);
            this.ringWindow = steps;
            return this;
        }

        /**
         * Spot checks across compute kinds (backend builds, CPU variants, GPUs): how far an output row may be
         * from the other server's and still agree, both as a relative L2 distance and as its largest element
         * difference over the largest absolute value of the row (default 0.1; README, spot checks).
         */
        public Builder spotCheckTolerance(double epsilon) {
            if (!(epsilon > 0 && epsilon < 1)) throw new IllegalArgumentException("spotCheckTolerance must be in (0, 1), got " + epsilon);
            this.spotCheckTolerance = epsilon;
            return this;
        }

        /** Which steps and hops spot checks choose, for reproducible runs (default: random). */
        public Builder spotCheckSeed(long seed) {
            this.spotCheckSeed = seed;
            return this;
        }

        /** Where to write each proof of misbehaviour found ({@code *.proof}, see {@link Proofs}); default: nowhere. */
        public Builder proofDirectory(Path dir) {
            this.proofDirectory = dir;
            return this;
        }

        /** The servers, as {@code host:port}, in any order; their spans must chain to cover the model. */
        public Builder peers(List<String> addresses) {
            if (addresses.isEmpty()) throw new IllegalArgumentException("no peers given");
            this.peers = List.copyOf(addresses);
            this.directory = null;
            return this;
        }

        /** The servers, as {@code host:port}; see {@link #peers(List)}. */
        public Builder peers(String... addresses) {
            return peers(List.of(addresses));
        }

        /**
         * The servers a directory lists for this model, by URI scheme: {@code etcd://HOST:PORT,...}
         * (with {@code directory-etcd}), {@code static:HOST:PORT@A:B,...}, {@code mem:NAME}, or a
         * {@code file:} URI or plain path naming a directory file (as {@code catena server --directory} writes).
         *
         * @throws IllegalArgumentException for an unknown scheme (the message lists the known ones) or a malformed URI
         */
        public Builder directory(URI directory) {
            Directories.check(directory); // the scheme and syntax now, nothing connected
            this.directory = directory;
            this.peers = null;
            return this;
        }

        /** The servers a directory file lists for this model. */
        public Builder directory(Path file) {
            return directory(file.toUri());
        }

        /** Push (servers forward hidden states to each other; the default) or relay (through this client). */
        public Builder mode(Mode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** Hidden states on the wire as F32 (the default: bit-identical to a local run), F16 or BF16. */
        public Builder wire(WireFormat wire) {
            this.wire = Objects.requireNonNull(wire, "wire");
            return this;
        }

        /** How long to wait to connect to a server and for its answers to requests (default 10 s). */
        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = positive(timeout, "requestTimeout");
            return this;
        }

        /** A server with no valid result for this long is failed over (default 30 s). */
        public Builder stepTimeout(Duration timeout) {
            this.stepTimeout = positive(timeout, "stepTimeout");
            return this;
        }

        /** Failovers allowed in one step before the generation fails (default 4). */
        public Builder maxFailovers(int maxFailovers) {
            if (maxFailovers < 0) throw new IllegalArgumentException("maxFailovers must be >= 0, got " + maxFailovers);
            this.maxFailovers = maxFailovers;
            return this;
        }

        /** First ban of a failed server; it doubles with each further failure, up to 5 minutes (default 5 s). */
        public Builder banTime(Duration ban) {
            if (ban.isNegative()) throw new IllegalArgumentException("banTime must be >= 0, got " + ban);
            this.ban = ban;
            return this;
        }

        /**
         * When a failover finds no server for some blocks, wait up to this long for the directory to
         * list one (a server that moves to cover them, or joins) before the generation fails
         * (default 0: fail at once). Useful with servers that choose their blocks.
         */
        public Builder awaitCoverage(Duration wait) {
            if (wait.isNegative()) throw new IllegalArgumentException("awaitCoverage must be >= 0, got " + wait);
            this.coverageWait = wait;
            return this;
        }

        /** The transport by name, e.g. {@code netty} (default: the preferred one available). */
        public Builder transport(String name) {
            this.transport = name;
            return this;
        }

        /** The span backend of the head by name (default: the preferred one available). */
        public Builder backend(String name) {
            this.backend = name;
            return this;
        }

        /**
         * Loads the head and asks the servers (or the directory) what they serve.
         *
         * @throws IllegalStateException when neither peers nor a directory were given
         * @throws dev.catena.core.SwarmException when a peer is unreachable or the servers do not cover the model
         */
        public CatenaClient build() {
            if (peers == null && directory == null) throw new IllegalStateException("give peers(...) or directory(...)");
            var backend = Catena.spanBackend(this.backend);
            if (identity != null && tlsTrusted == null) throw new IllegalStateException("a client identity is used with tls(...) only");
            TlsConfig tls = tlsTrusted == null ? null
                    : new TlsConfig(identity == null ? null : identity.privateKey(), identity == null ? null : identity.certificate(),
                    tlsTrusted, false);
            Transport t = Catena.transport(transport).create(TransportConfig.defaults().withTls(tls));
            try {
                var options = device.options(threads);
                SwarmInference inference = peers != null
                        ? SwarmInference.open(backend, model, t, peers, options, requestTimeout)
                        : SwarmInference.open(backend, model, t, Directories.open(directory), options, requestTimeout); // owns it
                inference.client().proofDirectory(proofDirectory);
                inference.client().resultSignatureChecks(signatureChecks);
                inference.client().spotChecks(spotCheck, spotCheckSeed != null ? spotCheckSeed : new java.security.SecureRandom().nextLong());
                inference.client().spotCheckTolerance(spotCheckTolerance);
                inference.client().ringWindow(ringWindow);
                inference.policy(new FaultTolerantSession.Policy(maxFailovers, ban, Duration.ofMinutes(5), stepTimeout, coverageWait));
                try {
                    return new CatenaClient(t, inference, context, backend.inspect(model).nCtxTrain(), chatTemplate, mode, wire);
                } catch (IllegalArgumentException e) { // the chat template
                    inference.close();
                    throw e;
                }
            } catch (RuntimeException e) {
                t.close();
                throw e;
            }
        }

        private static Duration positive(Duration d, String what) {
            if (d.isNegative() || d.isZero()) throw new IllegalArgumentException(what + " must be positive, got " + d);
            return d;
        }
    }
}

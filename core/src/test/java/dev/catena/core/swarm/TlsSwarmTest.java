package dev.catena.core.swarm;

import dev.catena.api.spi.SessionOptions;
import dev.catena.api.spi.SpanBackend;
import dev.catena.api.spi.SpanOptions;
import dev.catena.core.Catena;
import dev.catena.core.Identity;
import dev.catena.core.client.RemoteSession.Mode;
import dev.catena.core.client.ServerLink;
import dev.catena.core.generation.GenerationLoop;
import dev.catena.core.local.LocalInference;
import dev.catena.transport.spi.TlsConfig;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import dev.catena.transport.spi.TransportException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** TLS 1.3 over Netty (issue 14): same tokens as plain TCP, pushes over TLS, untrusted keys refused, mutual TLS. */
class TlsSwarmTest {
    static final Path MODEL = SwarmEquivalenceTest.MODEL;
    static final int N = 16;
    static SpanBackend backend;
    static GenerationLoop.Generation local;

    @BeforeAll
    static void localReference() {
        backend = Catena.spanBackend("ffm");
        try (var li = LocalInference.open(backend, MODEL, List.of(), SpanOptions.cpu(1))) {
            local = li.generate(SwarmEquivalenceTest.PROMPT, N, dev.catena.api.spi.SamplingParams.greedyDecoding(),
                    SessionOptions.of(256), false, true, t -> { });
        }
    }

    static Transport netty(TlsConfig tls) {
        return Catena.transport("netty").create(TransportConfig.defaults().withTls(tls));
    }

    static TlsConfig serverTls(Identity id, List<X509Certificate> trusted, boolean mutual) {
        return new TlsConfig(id.privateKey(), id.certificate(), trusted, mutual);
    }

    @Test
    void aTlsSwarmGeneratesTheTokensOfAPlainOneWithPushesOverTls() {
        List<Identity> ids = List.of(Identity.generate(), Identity.generate(), Identity.generate());
        List<Transport> serverTransports = new ArrayList<>();
        for (Identity id : ids) serverTransports.add(netty(serverTls(id, List.of(), false)));
        List<X509Certificate> certs = ids.stream().map(Identity::certificate).toList();
        try (Transport client = netty(new TlsConfig(null, null, certs, false));
             var swarm = new TestSwarm(backend, MODEL, 3, serverTransports::get, client, "127.0.0.1:0", 1L << 30, ids::get);
             var head = backend.openHead(MODEL, SpanOptions.cpu(1))) {
            var g = swarm.generate(head, Mode.PUSH, SwarmEquivalenceTest.PROMPT, N);
            assertArrayEquals(local.tokens(), g.tokens(), "TLS changes no token");
            long used = swarm.servers.stream().mapToLong(s -> s.counters().pushesUsed.get()).sum();
            assertTrue(used > 0, "pushes went server to server over TLS: " + used);
            long bad = swarm.servers.stream().mapToLong(s -> s.counters().pushesBadSignature.get()).sum();
            assertEquals(0, bad);
        } finally {
            serverTransports.forEach(Transport::close);
        }
    }

    @Test
    void aServerWhoseCertificateIsNotTrustedIsRefusedClearly() {
        Identity server = Identity.generate(), other = Identity.generate();
        try (Transport st = netty(serverTls(server, List.of(), false));
             Transport client = netty(new TlsConfig(null, null, List.of(other.certificate()), false));
             var swarm = new TestSwarm(backend, MODEL, 1, i -> st, client, "127.0.0.1:0", 1L << 30, i -> server)) {
            String address = swarm.servers.getFirst().address();
            var e = assertThrows(TransportException.class, () -> ServerLink.connect(client, address, Duration.ofSeconds(5)));
            assertTrue(e.getMessage().contains("TLS handshake with " + address + " failed")
                    && e.getMessage().contains("(key " + server.fingerprint() + ") is not trusted")
                    && e.getMessage().contains("--trust"), e.getMessage());
        }
    }

    @Test
    void aServerWhoseHelloKeyIsNotItsCertificatesIsRefused() {
        Identity tlsIdentity = Identity.generate(), signingIdentity = Identity.generate();
        try (Transport st = netty(serverTls(tlsIdentity, List.of(), false));
             Transport client = netty(new TlsConfig(null, null, List.of(tlsIdentity.certificate()), false));
             var swarm = new TestSwarm(backend, MODEL, 1, i -> st, client, "127.0.0.1:0", 1L << 30, i -> signingIdentity)) {
            String address = swarm.servers.getFirst().address();
            var e = assertThrows(TransportException.class, () -> ServerLink.connect(client, address, Duration.ofSeconds(5)));
            assertTrue(e.getMessage().contains("announced key " + signingIdentity.fingerprint())
                    && e.getMessage().contains("its TLS certificate has key " + tlsIdentity.fingerprint()), e.getMessage());
        }
    }

    @Test
    void mutualTlsRefusesAClientWithoutATrustedCertificate() {
        Identity server = Identity.generate(), member = Identity.generate(), stranger = Identity.generate();
        try (Transport st = netty(serverTls(server, List.of(member.certificate()), true));
             var swarm = new TestSwarm(backend, MODEL, 1, i -> st, st, "127.0.0.1:0", 1L << 30, i -> server)) {
            String address = swarm.servers.getFirst().address();
            List<X509Certificate> trustServer = List.of(server.certificate());
            for (Identity who : new Identity[]{null, stranger}) {
                try (Transport client = netty(new TlsConfig(who == null ? null : who.privateKey(),
                        who == null ? null : who.certificate(), trustServer, false))) {
                    // TLS 1.3: the client may finish its side before the server refuses its certificate, so the
                    // refusal shows at the handshake or as the connection closing before Hello is answered.
                    assertThrows(TransportException.class, () -> ServerLink.connect(client, address, Duration.ofSeconds(5)),
                            who == null ? "no client certificate" : "an untrusted client certificate");
                }
            }
            try (Transport client = netty(new TlsConfig(member.privateKey(), member.certificate(), trustServer, false));
                 var link = ServerLink.connect(client, address, Duration.ofSeconds(5))) {
                assertArrayEquals(server.publicKey().getEncoded(), link.publicKey().getEncoded(), "the key proven in Hello is the certificate's");
            }
        }
    }

}

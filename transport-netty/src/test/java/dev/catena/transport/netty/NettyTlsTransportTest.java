package dev.catena.transport.netty;

import dev.catena.transport.contract.TransportContractTest;
import dev.catena.transport.spi.TlsConfig;
import dev.catena.transport.spi.Transport;
import dev.catena.transport.spi.TransportConfig;
import dev.catena.transport.spi.TransportProvider;
import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;

import java.net.ServerSocket;
import java.util.List;

/** The whole transport contract again, every connection over TLS 1.3 (an Ed25519 certificate both sides trust). */
class NettyTlsTransportTest extends TransportContractTest {
    private static final TlsConfig TLS = tls();

    private static TlsConfig tls() {
        try {
            X509Bundle bundle = new CertificateBuilder().subject("CN=catena-test").setIsCertificateAuthority(true)
                    .algorithm(CertificateBuilder.Algorithm.ed25519).buildSelfSigned();
            return new TlsConfig(bundle.getKeyPair().getPrivate(), bundle.getCertificate(), List.of(bundle.getCertificate()), false);
        } catch (Exception e) {
            throw new IllegalStateException("cannot make a test certificate", e);
        }
    }

    @Override
    protected TransportProvider provider() {
        return new NettyTransportProvider();
    }

    @Override
    protected Transport newTransport(TransportConfig config) {
        return provider().create(config.withTls(TLS));
    }

    @Override
    protected String bindAddress() {
        return "127.0.0.1:0";
    }

    @Override
    protected String deadAddress() throws Exception {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return "127.0.0.1:" + socket.getLocalPort();
        }
    }
}

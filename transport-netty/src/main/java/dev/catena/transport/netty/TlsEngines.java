package dev.catena.transport.netty;

import dev.catena.transport.spi.TlsConfig;
import dev.catena.transport.spi.TransportException;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * SSLEngines for one {@link TlsConfig}: the JDK's own TLS 1.3 (SunJSSE), no native library. Peers are
 * trusted by the public key of the certificate they present (self-signed Ed25519 identities), never by a
 * chain or a host name; a client may also accept the one key it was told its server has.
 */
final class TlsEngines {
    private static final String[] PROTOCOLS = {"TLSv1.3"};

    private final TlsConfig config;
    private final SSLContext context;
    /** Client engines still handshaking, and the server key each may accept besides the trusted ones. */
    private final Map<SSLEngine, PublicKey> expected = new ConcurrentHashMap<>();

    TlsEngines(TlsConfig config) {
        this.config = config;
        try {
            context = SSLContext.getInstance("TLSv1.3");
            KeyManagerFactory keys = null;
            if (config.key() != null) {
                char[] none = new char[0];
                KeyStore store = KeyStore.getInstance("PKCS12");
                store.load(null, null);
                store.setKeyEntry("identity", config.key(), none, new Certificate[]{config.certificate()});
                keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                keys.init(store, none);
            }
            context.init(keys == null ? null : keys.getKeyManagers(), new javax.net.ssl.TrustManager[]{new ByKey()}, new SecureRandom());
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new TransportException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    /** An engine for an accepted connection: needs this side's certificate. */
    SSLEngine server() {
        if (config.key() == null) {
            throw new TransportException("listening with TLS needs a key and certificate (an identity)");
        }
        SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(false);
        SSLParameters p = engine.getSSLParameters();
        p.setProtocols(PROTOCOLS);
        p.setNeedClientAuth(config.requireClientCertificate());
        engine.setSSLParameters(p);
        return engine;
    }

    /** An engine for a connection to {@code address}, which may also present {@code expectedKey}'s certificate. */
    SSLEngine client(java.net.InetSocketAddress address, PublicKey expectedKey) {
        SSLEngine engine = context.createSSLEngine(address.getHostString(), address.getPort());
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setProtocols(PROTOCOLS);
        engine.setSSLParameters(p);
        if (expectedKey != null) expected.put(engine, expectedKey);
        return engine;
    }

    /** Forgets an engine whose handshake ended. */
    void done(SSLEngine engine) {
        expected.remove(engine);
    }

    private static String fingerprint(PublicKey key) {
        return dev.catena.transport.sign.Statements.fingerprint(key);
    }

    private final class ByKey extends X509ExtendedTrustManager {
        private void checkServer(X509Certificate[] chain, SSLEngine engine) throws CertificateException {
            PublicKey key = leaf(chain).getPublicKey();
            PublicKey wanted = engine == null ? null : expected.get(engine);
            if (config.trusts(key) || TlsConfig.sameKey(wanted, key)) return;
            throw new CertificateException("the server's certificate (key " + fingerprint(key) + ") is not trusted"
                    + (wanted != null ? "; expected key " + fingerprint(wanted) : "") + ": pass its certificate with --trust");
        }

        private void checkClient(X509Certificate[] chain) throws CertificateException {
            PublicKey key = leaf(chain).getPublicKey();
            if (config.trusts(key)) return;
            throw new CertificateException("the client's certificate (key " + fingerprint(key) + ") is not trusted");
        }

        private static X509Certificate leaf(X509Certificate[] chain) throws CertificateException {
            if (chain == null || chain.length == 0) throw new CertificateException("no certificate presented");
            return chain[0];
        }

        @Override public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException { checkClient(chain); }
        @Override public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException { checkServer(chain, null); }
        @Override public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException { checkClient(chain); }
        @Override public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException { checkServer(chain, engine); }
        @Override public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException { checkClient(chain); }
        @Override public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException { checkServer(chain, null); }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return config.trusted().toArray(X509Certificate[]::new);
        }
    }
}

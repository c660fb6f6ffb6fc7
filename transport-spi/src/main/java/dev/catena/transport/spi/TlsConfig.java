package dev.catena.transport.spi;

import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * TLS 1.3 for a transport, in plain JDK types. Peers are identified by their certificate's public key
 * (an Ed25519 identity); certificates are self-signed, so trust is a list of accepted certificates
 * compared by public key, never a chain to an authority and never a host name.
 *
 * @param key                      this side's private key (PKCS#8); with {@code certificate}, presented as a
 *                                 server, and as a client when a server asks for a client certificate.
 *                                 May be null for a client without an identity.
 * @param certificate              the certificate of {@code key}'s public key (null iff {@code key} is)
 * @param trusted                  certificates whose keys this side accepts: a server's, when connecting;
 *                                 a client's, when {@code requireClientCertificate}
 * @param requireClientCertificate mutual TLS: accepted connections must present a certificate whose key
 *                                 is in {@code trusted}, else the handshake fails
 */
public record TlsConfig(PrivateKey key, X509Certificate certificate, List<X509Certificate> trusted,
                        boolean requireClientCertificate) {
    public TlsConfig {
        if ((key == null) != (certificate == null)) {
            throw new IllegalArgumentException("a TLS key needs its certificate and a certificate its key");
        }
        trusted = List.copyOf(Objects.requireNonNull(trusted, "trusted"));
        if (requireClientCertificate && trusted.isEmpty()) {
            throw new IllegalArgumentException("requiring client certificates needs at least one trusted certificate");
        }
    }

    /** Whether {@code peer} is the key of a trusted certificate. */
    public boolean trusts(PublicKey peer) {
        for (X509Certificate c : trusted) {
            if (sameKey(c.getPublicKey(), peer)) return true;
        }
        return false;
    }

    /** Keys compare by their X.509 encodings (the algorithm and the key bytes). */
    public static boolean sameKey(PublicKey a, PublicKey b) {
        return a != null && b != null && Arrays.equals(a.getEncoded(), b.getEncoded());
    }
}

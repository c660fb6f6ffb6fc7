package dev.catena.core.security;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/**
 * A self-signed X.509 v3 certificate for an Ed25519 key, built with the JDK alone: the DER of RFC 5280's
 * TBSCertificate written by hand (a dozen tags), signed with {@code Signature("Ed25519")}, and parsed
 * back by the JDK's {@code CertificateFactory}, which checks it. Subject and issuer are
 * {@code CN=<common name>}; no extensions: peers trust the key, not names or chains.
 */
public final class SelfSignedCertificate {
    /** 1.3.101.112, id-Ed25519 (RFC 8410), as a DER OBJECT IDENTIFIER. */
    private static final byte[] ED25519_OID = {0x06, 0x03, 0x2B, 0x65, 0x70};
    /** 2.5.4.3, commonName. */
    private static final byte[] CN_OID = {0x06, 0x03, 0x55, 0x04, 0x03};

    private SelfSignedCertificate() {
    }

    /** A certificate for {@code keys} valid from a day ago for {@code validYears}. */
    public static X509Certificate create(KeyPair keys, String commonName, int validYears, SecureRandom random) {
        if (!"Ed25519".equals(keys.getPublic().getAlgorithm()) && !"EdDSA".equals(keys.getPublic().getAlgorithm())) {
            throw new IllegalArgumentException("an Ed25519 key is needed, not " + keys.getPublic().getAlgorithm());
        }
        byte[] serial = new byte[16];
        random.nextBytes(serial);
        serial[0] &= 0x7F; // a positive INTEGER
        serial[0] |= 0x40; // and no leading zero byte to strip
        ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC).withNano(0);
        byte[] algorithm = seq(ED25519_OID);
        byte[] name = seq(set(seq(CN_OID, tlv(0x0C, commonName.getBytes(StandardCharsets.UTF_8)))));
        byte[] tbs = seq(
                tlv(0xA0, tlv(0x02, new byte[]{2})),                    // [0] EXPLICIT version v3
                tlv(0x02, serial),
                algorithm,
                name,                                                   // issuer
                seq(time(now.minusDays(1)), time(now.plusYears(validYears))),
                name,                                                   // subject
                keys.getPublic().getEncoded());                         // SubjectPublicKeyInfo, as X.509 encodes it
        try {
            Signature signer = Signature.getInstance("Ed25519");
            signer.initSign(keys.getPrivate());
            signer.update(tbs);
            byte[] signature = signer.sign();
            byte[] bits = new byte[signature.length + 1]; // BIT STRING: 0 unused bits, then the signature
            System.arraycopy(signature, 0, bits, 1, signature.length);
            byte[] der = seq(tbs, algorithm, tlv(0x03, bits));
            var cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new java.io.ByteArrayInputStream(der));
            cert.verify(keys.getPublic());
            return cert;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK refused the certificate it was given: " + e.getMessage(), e);
        }
    }

    /** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5). */
    private static byte[] time(ZonedDateTime t) {
        if (t.getYear() < 2050) {
            return tlv(0x17, t.format(DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'")).getBytes(StandardCharsets.US_ASCII));
        }
        return tlv(0x18, t.format(DateTimeFormatter.ofPattern("yyyyMMddHHmmss'Z'")).getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] seq(byte[]... parts) {
        return tlv(0x30, concat(parts));
    }

    private static byte[] set(byte[]... parts) {
        return tlv(0x31, concat(parts));
    }

    private static byte[] concat(byte[]... parts) {
        var out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    /** Tag, DER length (short form below 128, else long form), value. */
    static byte[] tlv(int tag, byte[] value) {
        var out = new ByteArrayOutputStream(value.length + 6);
        out.write(tag);
        int n = value.length;
        if (n < 0x80) {
            out.write(n);
        } else {
            int bytes = n > 0xFFFFFF ? 4 : n > 0xFFFF ? 3 : n > 0xFF ? 2 : 1;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) out.write(n >>> (8 * i));
        }
        out.writeBytes(value);
        return out.toByteArray();
    }
}

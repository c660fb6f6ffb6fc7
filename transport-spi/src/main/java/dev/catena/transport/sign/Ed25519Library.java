package dev.catena.transport.sign;

import java.security.Key;
import java.util.Arrays;

/**
 * A native Ed25519 implementation reached through java.lang.foreign. Ed25519 is deterministic, so every
 * implementation's signatures are the JDK's to the byte; {@link NativeEd25519} checks that before it uses one.
 * A method returns null where this library cannot use the key (not a plain Ed25519 key), and the caller
 * falls back to the JDK.
 */
interface Ed25519Library {
    /** DER prefixes of the JDK's encodings of Ed25519 keys: PKCS#8 private and X.509 public, each then 32 raw bytes. */
    byte[] PKCS8_PREFIX = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
    byte[] X509_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    /** Private keys held in native form at most: servers and clients hold few keys. */
    int KEYS_CACHED = 4096;

    /** How {@code ./catena info} names it. */
    String name();

    /** {@code key}'s signature over {@code message}; null when this library cannot use the key. */
    byte[] sign(Key key, byte[] message);

    /** Whether {@code signature} is {@code key}'s over {@code message}; null when this library cannot use the key. */
    Boolean verify(Key key, byte[] message, byte[] signature);

    /**
     * The key's JDK encoding when it is a plain Ed25519 key of that kind (a 32-byte seed after the PKCS#8
     * prefix, or a 32-byte point after the X.509 one); null otherwise.
     */
    static byte[] encoding(Key key, boolean isPrivate) {
        byte[] encoded = key.getEncoded();
        byte[] prefix = isPrivate ? PKCS8_PREFIX : X509_PREFIX;
        if (encoded == null || encoded.length != prefix.length + 32 || !Arrays.equals(encoded, 0, prefix.length, prefix, 0, prefix.length)) {
            return null;
        }
        return encoded;
    }
}

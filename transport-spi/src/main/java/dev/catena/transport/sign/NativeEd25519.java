package dev.catena.transport.sign;

import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The native Ed25519 that {@link Statements} signs and verifies with: libsodium where it loads, else
 * OpenSSL 3, else none (the JDK's own, with no warning). A hop signs every step and the client verifies a
 * share of them, so the fastest one here is worth having. Each must pass a self-test against the JDK
 * first: the same signatures to the byte, each accepting the other's. Native libraries are used only
 * where this module has native access. {@code -Dcatena.ed25519=libsodium|openssl|jdk} picks one (the
 * older {@code -Dcatena.jdkEd25519=true} means jdk).
 */
final class NativeEd25519 {
    private static final System.Logger LOG = System.getLogger(NativeEd25519.class.getName());
    /** Null: the JDK signs. */
    static final Ed25519Library LIBRARY = choose();

    private NativeEd25519() {
    }

    private static Ed25519Library choose() {
        String wanted = Boolean.getBoolean("catena.jdkEd25519") ? "jdk" : System.getProperty("catena.ed25519", "auto").toLowerCase(Locale.ROOT);
        if (!List.of("auto", "libsodium", "openssl", "jdk").contains(wanted)) {
            LOG.log(System.Logger.Level.WARNING, "-Dcatena.ed25519=" + wanted + " is none of auto, libsodium, openssl, jdk: the JDK signs");
            return null;
        }
        if (wanted.equals("jdk")) return null;
        if (!NativeEd25519.class.getModule().isNativeAccessEnabled()) {
            if (!wanted.equals("auto")) {
                LOG.log(System.Logger.Level.WARNING, "-Dcatena.ed25519=" + wanted + " needs native access for " + NativeEd25519.class.getModule()
                        + " (--enable-native-access): the JDK signs");
            }
            return null;
        }
        if ((wanted.equals("auto") || wanted.equals("libsodium")) && agreesWithTheJdk(SodiumEd25519.INSTANCE)) return SodiumEd25519.INSTANCE;
        if ((wanted.equals("auto") || wanted.equals("openssl")) && agreesWithTheJdk(OpenSslEd25519.INSTANCE)) return OpenSslEd25519.INSTANCE;
        if (!wanted.equals("auto")) {
            LOG.log(System.Logger.Level.WARNING, "-Dcatena.ed25519=" + wanted + ": that library did not load or disagreed with the JDK; the JDK signs");
        }
        return null;
    }

    /** Signs and verifies with a fresh key both ways against the JDK: the same bytes, and each accepts the other's. */
    static boolean agreesWithTheJdk(Ed25519Library library) {
        if (library == null) return false;
        try {
            var keys = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            byte[] message = "catena/self-test".getBytes(StandardCharsets.US_ASCII);
            Signature jdk = Signature.getInstance("Ed25519");
            jdk.initSign(keys.getPrivate());
            jdk.update(message);
            byte[] expected = jdk.sign();
            byte[] mine = library.sign(keys.getPrivate(), message);
            byte[] altered = expected.clone();
            altered[0] ^= 1;
            return Arrays.equals(expected, mine) && Boolean.TRUE.equals(library.verify(keys.getPublic(), message, expected))
                    && Boolean.FALSE.equals(library.verify(keys.getPublic(), message, altered));
        } catch (Throwable e) { // whatever fails here, the JDK signs
            return false;
        }
    }
}

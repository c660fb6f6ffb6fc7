package dev.catena.transport.sign;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** OpenSSL's Ed25519 through java.lang.foreign gives the JDK's signatures to the byte, and each accepts the other's. */
class NativeEd25519Test {
    static final long SEED = Long.getLong("catena.test.seed", 2512L);

    @Test
    void usedWhereLibcryptoIsPresent() {
        boolean present = Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libcrypto.so.3"))
                || Files.exists(Path.of("/usr/lib/aarch64-linux-gnu/libcrypto.so.3"));
        assertEquals(present, Statements.nativeEd25519(), "tests run with native access: OpenSSL is used exactly when it is installed");
    }

    @Test
    void signaturesEqualTheJdksAndEachVerifiesTheOthers() throws Exception {
        var random = new Random(SEED);
        for (int k = 0; k < 8; k++) {
            KeyPair keys = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            for (int m = 0; m < 8; m++) {
                byte[] message = new byte[random.nextInt(300)];
                random.nextBytes(message);
                Signature jdk = Signature.getInstance("Ed25519");
                jdk.initSign(keys.getPrivate());
                jdk.update(message);
                byte[] expected = jdk.sign();
                byte[] mine = Statements.sign(keys.getPrivate(), message);
                assertArrayEquals(expected, mine, "seed " + SEED);
                jdk.initVerify(keys.getPublic());
                jdk.update(message);
                assertTrue(jdk.verify(mine), "seed " + SEED);
                assertTrue(Statements.verify(keys.getPublic(), message, expected), "seed " + SEED);
                byte[] altered = expected.clone();
                altered[random.nextInt(altered.length)] ^= (byte) (1 << random.nextInt(8));
                assertFalse(Statements.verify(keys.getPublic(), message, altered), "seed " + SEED);
                if (message.length > 0) {
                    byte[] other = message.clone();
                    other[random.nextInt(other.length)] ^= 1;
                    assertFalse(Statements.verify(keys.getPublic(), other, expected), "seed " + SEED);
                }
            }
        }
    }
}

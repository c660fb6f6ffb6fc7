package dev.catena.transport.sign;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Each native Ed25519 (libsodium, OpenSSL) through java.lang.foreign gives the JDK's signatures to the
 * byte, and each accepts the other's; {@link Statements} uses the fastest one installed.
 */
class NativeEd25519Test {
    static final long SEED = Long.getLong("catena.test.seed", 2512L);

    private static boolean installed(String library) {
        return Files.exists(Path.of("/usr/lib/x86_64-linux-gnu", library)) || Files.exists(Path.of("/usr/lib/aarch64-linux-gnu", library));
    }

    @Test
    void theFastestInstalledLibraryIsUsed() {
        String expected = installed("libsodium.so.23") ? "libsodium" : installed("libcrypto.so.3") ? "OpenSSL" : "JDK";
        assertEquals(expected, Statements.ed25519Library(), "tests run with native access: libsodium, else OpenSSL, else the JDK");
    }

    static Stream<Arguments> libraries() {
        return Stream.of(Arguments.of("libsodium", "libsodium.so.23", SodiumEd25519.INSTANCE),
                Arguments.of("OpenSSL", "libcrypto.so.3", OpenSslEd25519.INSTANCE));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("libraries")
    void signaturesEqualTheJdksAndEachVerifiesTheOthers(String name, String file, Ed25519Library library) throws Exception {
        assumeTrue(installed(file), name + " is not installed here");
        assertNotNull(library, name + " is installed but did not load");
        assertTrue(NativeEd25519.agreesWithTheJdk(library));
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
                byte[] mine = library.sign(keys.getPrivate(), message);
                assertArrayEquals(expected, mine, "seed " + SEED);
                assertArrayEquals(expected, Statements.sign(keys.getPrivate(), message), "seed " + SEED);
                jdk.initVerify(keys.getPublic());
                jdk.update(message);
                assertTrue(jdk.verify(mine), "seed " + SEED);
                assertEquals(Boolean.TRUE, library.verify(keys.getPublic(), message, expected), "seed " + SEED);
                byte[] altered = expected.clone();
                altered[random.nextInt(altered.length)] ^= (byte) (1 << random.nextInt(8));
                assertEquals(Boolean.FALSE, library.verify(keys.getPublic(), message, altered), "seed " + SEED);
                assertFalse(Statements.verify(keys.getPublic(), message, altered), "seed " + SEED);
                if (message.length > 0) {
                    byte[] other = message.clone();
                    other[random.nextInt(other.length)] ^= 1;
                    assertEquals(Boolean.FALSE, library.verify(keys.getPublic(), other, expected), "seed " + SEED);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("libraries")
    void keysPastTheCacheSignAlike(String name, String file, Ed25519Library library) throws Exception {
        assumeTrue(installed(file) && library != null, name + " is not installed here");
        var generator = KeyPairGenerator.getInstance("Ed25519");
        byte[] message = "past the cache".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        KeyPair first = generator.generateKeyPair();
        byte[] firstSignature = library.sign(first.getPrivate(), message);
        var factory = java.security.KeyFactory.getInstance("Ed25519");
        var random = new Random(SEED);
        for (int k = 0; k <= Ed25519Library.KEYS_CACHED; k++) { // fills the cache, whatever it held (keys from seeds: cheap)
            byte[] pkcs8 = Arrays.copyOf(Ed25519Library.PKCS8_PREFIX, Ed25519Library.PKCS8_PREFIX.length + 32);
            byte[] seed = new byte[32];
            random.nextBytes(seed);
            System.arraycopy(seed, 0, pkcs8, Ed25519Library.PKCS8_PREFIX.length, 32);
            assertNotNull(library.sign(factory.generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(pkcs8)), message), "seed " + SEED);
        }
        for (int k = 0; k < 3; k++) { // derived anew each time, then zeroed
            KeyPair keys = generator.generateKeyPair();
            Signature jdk = Signature.getInstance("Ed25519");
            jdk.initSign(keys.getPrivate());
            jdk.update(message);
            byte[] expected = jdk.sign();
            assertArrayEquals(expected, library.sign(keys.getPrivate(), message));
            assertArrayEquals(expected, library.sign(keys.getPrivate(), message));
        }
        assertArrayEquals(firstSignature, library.sign(first.getPrivate(), message), "a cached key still signs alike");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("libraries")
    void aKeyThatIsNotEd25519IsLeftToTheJdk(String name, String file, Ed25519Library library) throws Exception {
        assumeTrue(installed(file) && library != null, name + " is not installed here");
        KeyPair ec = KeyPairGenerator.getInstance("EC").generateKeyPair();
        assertNull(library.sign(ec.getPrivate(), new byte[]{1}));
        assertNull(library.verify(ec.getPublic(), new byte[]{1}, new byte[Statements.SIGNATURE_BYTES]));
    }
}

package dev.catena.core;

import dev.catena.transport.sign.Statements;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ed25519 identities with a self-signed certificate built by hand (DER) and checked by the JDK. */
class IdentityTest {

    @Test
    void aGeneratedIdentityRoundTripsThroughItsFilesWithAPrivateKeyFile(@TempDir Path dir) throws Exception {
        Identity id = Identity.generate();
        id.save(dir.resolve("me"));
        Path key = dir.resolve("me").resolve(Identity.KEY_FILE);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
        assertTrue(Files.readString(key).startsWith("-----BEGIN PRIVATE KEY-----"));
        Identity back = Identity.load(dir.resolve("me"));
        assertArrayEquals(id.publicKey().getEncoded(), back.publicKey().getEncoded());
        assertArrayEquals(id.privateKey().getEncoded(), back.privateKey().getEncoded());
        assertEquals(id.fingerprint(), back.fingerprint());
        assertEquals(16, id.fingerprint().length());
        // The certificate is a well-formed self-signed X.509 v3 for that key, valid now.
        var cert = back.certificate();
        cert.verify(cert.getPublicKey());
        cert.checkValidity();
        assertEquals(3, cert.getVersion());
        assertEquals("CN=catena " + id.fingerprint(), cert.getSubjectX500Principal().getName());
        assertEquals(cert.getSubjectX500Principal(), cert.getIssuerX500Principal());
        assertArrayEquals(id.certificate().getEncoded(), Identity.readCertificate(dir.resolve("me").resolve(Identity.CERT_FILE)).getEncoded());
        byte[] msg = {1, 2, 3};
        assertTrue(Statements.verify(back.publicKey(), msg, Statements.sign(id.privateKey(), msg)));
    }

    @Test
    void identitiesDiffer() {
        assertNotEquals(Identity.generate().fingerprint(), Identity.generate().fingerprint());
    }

    @Test
    void anIdentityIsNeverOverwrittenAndBadFilesAreNamed(@TempDir Path dir) throws Exception {
        Identity.generate().save(dir);
        var e = assertThrows(UncheckedIOException.class, () -> Identity.generate().save(dir));
        assertTrue(e.getMessage().contains("never overwritten"), e.getMessage());

        Path other = dir.resolve("other");
        Identity.generate().save(other);
        Files.copy(other.resolve(Identity.CERT_FILE), dir.resolve(Identity.CERT_FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        var mismatch = assertThrows(IllegalArgumentException.class, () -> Identity.load(dir));
        assertTrue(mismatch.getMessage().contains("is not the key of the certificate"), mismatch.getMessage());

        var missing = assertThrows(IllegalArgumentException.class, () -> Identity.load(dir.resolve("nowhere")));
        assertTrue(missing.getMessage().contains("no certificate file"), missing.getMessage());

        Files.writeString(other.resolve(Identity.KEY_FILE), "garbage");
        var garbage = assertThrows(IllegalArgumentException.class, () -> Identity.load(other));
        assertTrue(garbage.getMessage().contains("PKCS#8 PEM"), garbage.getMessage());
    }
}

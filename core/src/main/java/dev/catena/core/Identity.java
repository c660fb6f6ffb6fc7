package dev.catena.core;

import dev.catena.core.security.SelfSignedCertificate;
import dev.catena.transport.sign.Statements;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A peer's Ed25519 identity: a key pair and a self-signed X.509 certificate of its public key. The
 * public key is the identity; {@link #fingerprint()} is its short name. On disk (see {@link #save}) a
 * folder holds {@value #KEY_FILE} (PKCS#8 PEM, mode 0600) and {@value #CERT_FILE} (PEM), which peers
 * pass to {@code --trust}.
 */
public final class Identity {
    public static final String KEY_FILE = "identity.key";
    public static final String CERT_FILE = "identity.crt";
    private static final int VALID_YEARS = 10;

    private final PrivateKey privateKey;
    private final X509Certificate certificate;

    private Identity(PrivateKey privateKey, X509Certificate certificate) {
        this.privateKey = privateKey;
        this.certificate = certificate;
    }

    /** A fresh identity, its certificate valid for ten years. */
    public static Identity generate() {
        try {
            KeyPair keys = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            var random = new SecureRandom();
            String cn = "catena " + Statements.fingerprint(keys.getPublic());
            return new Identity(keys.getPrivate(), SelfSignedCertificate.create(keys, cn, VALID_YEARS, random));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no Ed25519 (needed since Java 15)", e);
        }
    }

    /**
     * Reads the identity {@link #save} wrote in {@code dir}.
     *
     * @throws IllegalArgumentException naming the file that is missing, malformed, or whose key and
     *                                  certificate do not belong together
     */
    public static Identity load(Path dir) {
        Path keyFile = dir.resolve(KEY_FILE);
        X509Certificate cert = readCertificate(dir.resolve(CERT_FILE));
        PrivateKey key;
        try {
            byte[] der = pem(Files.readString(keyFile, StandardCharsets.US_ASCII), "PRIVATE KEY", keyFile);
            key = KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("no identity key " + keyFile + " (create one with ./catena keygen --out " + dir + ")");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + keyFile + ": " + e.getMessage(), e);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException(keyFile + " is not an Ed25519 private key in PKCS#8 PEM: " + e.getMessage(), e);
        }
        byte[] probe = "catena identity check".getBytes(StandardCharsets.US_ASCII);
        if (!Statements.verify(cert.getPublicKey(), probe, Statements.sign(key, probe))) {
            throw new IllegalArgumentException(keyFile + " is not the key of the certificate " + dir.resolve(CERT_FILE));
        }
        return new Identity(key, cert);
    }

    /**
     * Writes {@value #KEY_FILE} (created with mode 0600, never readable by others even briefly) and
     * {@value #CERT_FILE} into {@code dir}, creating it.
     *
     * @throws UncheckedIOException also when an identity is already there (it is never overwritten)
     */
    public void save(Path dir) {
        Path keyFile = dir.resolve(KEY_FILE);
        try {
            Files.createDirectories(dir);
            var owner = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
            Files.createFile(keyFile, owner);
            Files.writeString(keyFile, toPem("PRIVATE KEY", privateKey.getEncoded()), StandardCharsets.US_ASCII);
            Files.writeString(dir.resolve(CERT_FILE), toPem("CERTIFICATE", certificate.getEncoded()), StandardCharsets.US_ASCII);
        } catch (FileAlreadyExistsException e) {
            throw new UncheckedIOException("an identity is already in " + dir + " (" + keyFile.getFileName() + "); it is never overwritten", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the identity to " + dir + ": " + e.getMessage(), e);
        } catch (CertificateException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads a PEM certificate, e.g. a peer's {@value #CERT_FILE} passed to {@code --trust}. */
    public static X509Certificate readCertificate(Path file) {
        try {
            byte[] der = pem(Files.readString(file, StandardCharsets.US_ASCII), "CERTIFICATE", file);
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("no certificate file " + file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        } catch (CertificateException | IllegalArgumentException e) {
            throw new IllegalArgumentException(file + " is not an X.509 certificate in PEM: " + e.getMessage(), e);
        }
    }

    /** Reads each of {@code files} with {@link #readCertificate}. */
    public static List<X509Certificate> readCertificates(List<Path> files) {
        List<X509Certificate> certs = new ArrayList<>();
        for (Path f : files) certs.add(readCertificate(f));
        return certs;
    }

    public PublicKey publicKey() {
        return certificate.getPublicKey();
    }

    public PrivateKey privateKey() {
        return privateKey;
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /**
     * What signs and verifies: {@code "libsodium"} or {@code "OpenSSL"} (the system's, through java.lang.foreign,
     * where the module {@code dev.catena.transport.spi} has native access), else {@code "JDK"}. The signatures
     * are the same bytes; libsodium signs about 30 times as fast as the JDK here, OpenSSL about 12 times.
     */
    public static String signingEngine() {
        return dev.catena.transport.sign.Statements.ed25519Library();
    }

    /** The first 16 hex digits of the SHA-256 of the public key's X.509 encoding. */
    public String fingerprint() {
        return fingerprint(publicKey());
    }

    /** As {@link #fingerprint()}, for any key. */
    public static String fingerprint(PublicKey key) {
        return Statements.fingerprint(key);
    }

    private static String toPem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[]{'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static byte[] pem(String text, String type, Path file) {
        String begin = "-----BEGIN " + type + "-----", end = "-----END " + type + "-----";
        int a = text.indexOf(begin), b = text.indexOf(end);
        if (a < 0 || b < a) throw new IllegalArgumentException(file + " has no " + begin + " block");
        return Base64.getMimeDecoder().decode(text.substring(a + begin.length(), b));
    }

    @Override
    public String toString() {
        return "Identity[" + fingerprint() + "]";
    }
}

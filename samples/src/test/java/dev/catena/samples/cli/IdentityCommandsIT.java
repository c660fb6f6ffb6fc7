package dev.catena.samples.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static dev.catena.samples.cli.CatenaLauncherIT.MODEL;
import static dev.catena.samples.cli.CatenaLauncherIT.catena;
import static dev.catena.samples.cli.OracleCommandIT.find;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code keygen}, {@code verify-proof} and {@code swarm --tls}, through the launcher (issue 14). */
class IdentityCommandsIT {

    @Test
    void keygenWritesAPrivateKeyAndACertificateAndNeverOverwrites(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("id");
        var r = catena("keygen", "--out", dir.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().matches("(?s)identity [0-9a-f]{16} written to .*"), r.out());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("identity.key"))));
        assertTrue(Files.readString(dir.resolve("identity.crt")).startsWith("-----BEGIN CERTIFICATE-----"));
        var again = catena("keygen", "--out", dir.toString());
        assertEquals(2, again.exit(), again.err());
        assertTrue(again.err().contains("never overwritten"), again.err());
    }

    @Test
    void verifyProofSaysBadFileWithExitTwo(@TempDir Path tmp) throws Exception {
        Path junk = tmp.resolve("junk.proof");
        Files.writeString(junk, "not a proof\n");
        var r = catena("verify-proof", junk.toString());
        assertEquals(2, r.exit(), r.out() + r.err());
        assertTrue(r.err().contains("is not a Catena proof"), r.err());
        assertEquals(2, catena("verify-proof", tmp.resolve("absent.proof").toString()).exit());
    }

    @Test
    void aTlsSwarmGeneratesThePlainSwarmsTokens() throws Exception {
        var plain = catena("swarm", "--model", MODEL.toString(), "--servers", "2", "--prompt", "Once upon a time", "-n", "12",
                "--greedy", "--json");
        var tls = catena("swarm", "--model", MODEL.toString(), "--servers", "2", "--prompt", "Once upon a time", "-n", "12",
                "--greedy", "--json", "--tls");
        assertEquals(0, plain.exit(), plain.err());
        assertEquals(0, tls.exit(), tls.err());
        String tokens = find(plain.out(), "\"tokens\":\\[([^\\]]*)\\]");
        assertEquals(tokens, find(tls.out(), "\"tokens\":\\[([^\\]]*)\\]"), tls.out());
        assertEquals("0", find(tls.out(), "\"pushes_bad_signature\":([0-9]+)"), tls.out());
    }
}

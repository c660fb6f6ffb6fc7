package dev.catena.samples.cli;

import dev.catena.core.CatenaClient;
import dev.catena.core.Identity;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** A swarm client's TLS, identity and evidence ({@link EvidenceOptions}) options (picocli mixin of {@code generate} and {@code serve}). */
final class ClientSecurityOptions {
    @Option(names = "--tls", description = "TLS 1.3 to every server; only servers whose certificate is given with --trust are accepted.")
    boolean tls;

    @Option(names = "--trust", paramLabel = "FILE", split = ",", arity = "1..*",
            description = "With --tls: certificates (a server's identity.crt) whose keys this client accepts.")
    List<Path> trust = List.of();

    @Option(names = "--identity", paramLabel = "DIR",
            description = "With --tls: this client's identity (./catena keygen --out DIR), for servers that require client certificates.")
    Path identity;

    @CommandLine.Mixin
    EvidenceOptions evidence;

    /** Applies the options to {@code b}; a bad combination or file is a command-line error. */
    CatenaClient.Builder apply(CatenaClient.Builder b, CommandLine commandLine) {
        try {
            if (!tls && (!trust.isEmpty() || identity != null)) {
                throw new CommandLine.ParameterException(commandLine, "--trust and --identity need --tls");
            }
            if (tls) {
                if (trust.isEmpty()) throw new CommandLine.ParameterException(commandLine, "--tls needs --trust FILE... (the servers' identity.crt)");
                b.tls(Identity.readCertificates(trust));
                if (identity != null) b.identity(Identity.load(identity));
            }
            return evidence.apply(b, commandLine);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(commandLine, e.getMessage());
        }
    }
}

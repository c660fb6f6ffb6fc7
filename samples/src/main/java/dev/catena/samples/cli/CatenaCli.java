package dev.catena.samples.cli;

import dev.catena.api.BackendUnavailableException;
import dev.catena.api.ModelFormatException;
import dev.catena.api.SpanInputException;
import dev.catena.api.UnsupportedModelException;
import dev.catena.core.Catena;
import dev.catena.core.SwarmException;
import dev.catena.transport.spi.TransportException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./catena}: the root command. Exit codes: see {@link ExitCodes}. */
@Command(name = "catena", mixinStandardHelpOptions = true, versionProvider = CatenaCli.Version.class,
        description = "Distributed LLM inference over llama.cpp's ggml, Petals-style, with direct server-to-server pushes.",
        subcommands = {InfoCommand.class, GenerateCommand.class, ServerCommand.class, SwarmCommand.class, ServeCommand.class, OracleCommand.class,
                BenchCommand.class, EtcdCommand.class, StatusCommand.class, KeygenCommand.class, VerifyProofCommand.class,
                CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:internal error", "2:bad command line or input",
                "3:bad or unsupported model file (missing, not GGUF, truncated, malformed, unknown architecture)",
                "4:backend unavailable (native libraries, native access)",
                "5:swarm failure (a server unreachable or refusing, no complete route)"})
public final class CatenaCli {

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "Show ggml's, llama.cpp's and Netty's own log on stderr.")
    void verbose(boolean on) {
        CliLogging.configure(on);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String... args) {
        CliLogging.configure(false);
        var cli = new CommandLine(new CatenaCli());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("catena: " + e.getMessage());
            return ExitCodes.of(e);
        });
        // A bad command line is one line on stderr and exit 2; the usage page is one --help away.
        cli.setParameterExceptionHandler((e, arguments) -> {
            CommandLine cmd = e.getCommandLine();
            String name = cmd.getCommandSpec().qualifiedName();
            cmd.getErr().println(name + ": " + e.getMessage() + " (see ./" + name + " --help)");
            return ExitCodes.USAGE;
        });
        // picocli answers --help before it complains about the rest: `catena nosuch --help` must not
        // print the main help and succeed.
        cli.setExecutionStrategy(parsed -> {
            for (var p = parsed; p != null; p = p.subcommand()) {
                if (p.unmatched().isEmpty()) continue;
                CommandLine cmd = p.commandSpec().commandLine();
                String first = p.unmatched().getFirst();
                if (!cmd.getSubcommands().isEmpty() && p.subcommand() == null && !first.startsWith("-")) {
                    throw new CommandLine.ParameterException(cmd, "unknown command '" + first + "'; the commands are "
                            + String.join(", ", cmd.getSubcommands().keySet()));
                }
                throw new CommandLine.UnmatchedArgumentException(cmd, p.unmatched());
            }
            return new CommandLine.RunLast().execute(parsed);
        });
        return cli.execute(args);
    }

    /** Exit codes that mean something to scripts. */
    static final class ExitCodes {
        static final int INTERNAL = 1;
        static final int USAGE = 2;
        static final int BAD_MODEL = 3;
        static final int UNAVAILABLE = 4;
        static final int SWARM = 5;

        private ExitCodes() {
        }

        static int of(Exception e) {
            if (e instanceof ModelFormatException || e instanceof UnsupportedModelException) return BAD_MODEL;
            if (e instanceof SpanInputException) return USAGE;
            if (e instanceof BackendUnavailableException) return UNAVAILABLE;
            if (e instanceof SwarmException || e instanceof TransportException
                    || e instanceof dev.catena.api.directory.DirectoryException) return SWARM;
            return INTERNAL;
        }
    }

    /** The build (version and git commit, recorded at build time), the native engine's release and the JVM. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws java.io.IOException {
            var build = new java.util.Properties();
            try (var in = CatenaCli.class.getResourceAsStream("build.properties")) {
                if (in != null) build.load(in);
            }
            String commit = build.getProperty("git.commit.id.abbrev", "");
            String dirty = "true".equals(build.getProperty("git.dirty")) ? ", with uncommitted changes" : "";
            String engine;
            try {
                engine = Catena.spanBackend(null).engineVersion();
            } catch (RuntimeException e) {
                engine = "span backend unavailable: " + e.getMessage();
            }
            return new String[]{
                    "catena " + build.getProperty("version", "(unknown version)")
                            + (commit.isEmpty() || commit.startsWith("${") ? "" : " (git commit " + commit + dirty + ")"),
                    engine,
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
        }
    }
}

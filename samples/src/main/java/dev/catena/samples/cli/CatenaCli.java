package dev.catena.samples.cli;

import dev.catena.api.BackendUnavailableException;
import dev.catena.api.ModelFormatException;
import dev.catena.api.SpanInputException;
import dev.catena.api.UnsupportedModelException;
import dev.catena.core.client.SwarmException;
import dev.catena.transport.spi.TransportException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.logging.Level;
import java.util.logging.Logger;

/** {@code ./catena}: the root command. Exit codes: see {@link ExitCodes}. */
@Command(name = "catena", mixinStandardHelpOptions = true, versionProvider = CatenaCli.Version.class,
        description = "Distributed LLM inference over llama.cpp's ggml, Petals-style, with direct server-to-server pushes.",
        subcommands = {InfoCommand.class, GenerateCommand.class, ServerCommand.class, SwarmCommand.class, OracleCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:internal error", "2:bad command line or input",
                "3:bad or unsupported model file (missing, not GGUF, truncated, malformed, unknown architecture)",
                "4:backend unavailable (native libraries, native access)",
                "5:swarm failure (a server unreachable or refusing, no complete route)"})
public final class CatenaCli {

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "Show ggml's and llama.cpp's own log on stderr.")
    void verbose(boolean on) {
        Logger nativeLog = Logger.getLogger("dev.catena.ggml");
        nativeLog.setLevel(on ? Level.ALL : Level.OFF);
        if (on && nativeLog.getHandlers().length == 0) {
            // The root console handler shows INFO and up; native info and debug lines map below that.
            var handler = new java.util.logging.ConsoleHandler();
            handler.setLevel(Level.ALL);
            nativeLog.addHandler(handler);
            nativeLog.setUseParentHandlers(false);
        }
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String... args) {
        // Native log lines are carried by Catena's own errors; show them raw only with --verbose.
        Logger.getLogger("dev.catena.ggml").setLevel(Level.OFF);
        var cli = new CommandLine(new CatenaCli());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("catena: " + e.getMessage());
            return ExitCodes.of(e);
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
            if (e instanceof SwarmException || e instanceof TransportException) return SWARM;
            return INTERNAL;
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = CatenaCli.class.getPackage().getImplementationVersion();
            return new String[]{"catena " + (v == null ? "(development build)" : v)};
        }
    }
}

package dev.catena.samples.cli;

import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Logging as a command-line user should see it: one short line per record on stderr, no timestamps,
 * and none of the native engine's or Netty's chatter (llama.cpp's vocabulary-loader warnings, Netty's
 * hardware-address notice, the etcd client's gRPC notices) unless {@code --verbose}. The native engine's real errors still reach the
 * user inside Catena's exceptions.
 */
final class CliLogging {
    /** Held strongly: JUL keeps loggers weakly, and a collected logger would come back with its default level. */
    private static final Logger ROOT = Logger.getLogger("");
    private static final Logger NATIVE = Logger.getLogger("dev.catena.ggml");
    private static final Logger NETTY = Logger.getLogger("io.netty");
    /** The etcd client's stack (jetcd, gRPC, Vert.x; SLF4J routed here by slf4j-jdk14). */
    private static final Logger[] ETCD_CLIENT = {Logger.getLogger("io.grpc"), Logger.getLogger("io.etcd"), Logger.getLogger("io.vertx")};

    private CliLogging() {
    }

    static void configure(boolean verbose) {
        for (var h : ROOT.getHandlers()) ROOT.removeHandler(h);
        var console = new ConsoleHandler();
        console.setLevel(Level.ALL);
        console.setFormatter(new OneLine());
        ROOT.addHandler(console);
        ROOT.setLevel(Level.INFO);
        NATIVE.setLevel(verbose ? Level.ALL : Level.OFF);
        NETTY.setLevel(verbose ? Level.INFO : Level.SEVERE);
        for (Logger l : ETCD_CLIENT) l.setLevel(verbose ? Level.INFO : Level.SEVERE);
    }

    private static final class OneLine extends Formatter {
        @Override
        public String format(LogRecord r) {
            String level = r.getLevel().intValue() >= Level.WARNING.intValue() ? r.getLevel().getName().toLowerCase() + ": " : "";
            String line = "catena: " + level + formatMessage(r) + System.lineSeparator();
            if (r.getThrown() != null && r.getLevel().intValue() >= Level.SEVERE.intValue()) {
                var sw = new java.io.StringWriter();
                r.getThrown().printStackTrace(new java.io.PrintWriter(sw));
                line += sw;
            }
            return line;
        }
    }
}

package dev.catena.core;

import dev.catena.api.CatenaException;

/**
 * A step or session the swarm could not complete; the message names the server and the reason.
 * What went wrong is the type: a {@link ServerFailure} is one server's fault, and the client bans
 * that server and fails over; a {@link NoRoute} or a plain {@code SwarmException} (interrupted,
 * giving up) ends the step.
 */
public sealed class SwarmException extends CatenaException permits SwarmException.ServerFailure, SwarmException.NoRoute {
    public SwarmException(String message) {
        super(message);
    }

    public SwarmException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * The address of the server that failed or refused, or null when none is to blame; for a
     * failure that wraps another (giving up after failovers), the wrapped one's server.
     */
    public String server() {
        return getCause() instanceof SwarmException wrapped ? wrapped.server() : null;
    }

    /** One server's fault: the client bans it and routes around it. */
    public abstract static sealed class ServerFailure extends SwarmException
            permits Unreachable, Refused, Corrupt, Timeout {
        private final String server;

        ServerFailure(String message, String server, Throwable cause) {
            super(message, cause);
            this.server = java.util.Objects.requireNonNull(server, "server");
        }

        @Override
        public String server() {
            return server;
        }
    }

    /** The server could not be reached: no connection, a lost one, or no answer to a request. */
    public static final class Unreachable extends ServerFailure {
        public Unreachable(String message, String server, Throwable cause) {
            super(message, server, cause);
        }
    }

    /** The server answered with an error, or with something other than what was asked. */
    public static final class Refused extends ServerFailure {
        private final String code;

        /** @param code the protocol error code it sent (e.g. {@code OUT_OF_MEMORY}), or null when it answered with something else */
        public Refused(String message, String server, String code) {
            super(message, server, null);
            this.code = code;
        }

        /** The protocol error code the server sent (e.g. {@code OUT_OF_MEMORY}), or null when it answered with another message. */
        public String code() {
            return code;
        }
    }

    /** A result damaged in transit, or one that differs from what the same blocks answered before. */
    public static final class Corrupt extends ServerFailure {
        public Corrupt(String message, String server) {
            super(message, server, null);
        }
    }

    /** No valid result from the server within the step timeout. */
    public static final class Timeout extends ServerFailure {
        public Timeout(String message, String server) {
            super(message, server, null);
        }
    }

    /** No usable server covers some blocks: nothing to fail over to. */
    public static final class NoRoute extends SwarmException {
        public NoRoute(String message) {
            super(message);
        }
    }
}

package dev.catena.core.server;

import dev.catena.transport.proto.ErrorCode;

/** Why a session was not admitted ({@link SessionTable#admit}), as the client is told. */
final class SessionRefused extends Exception {
    final ErrorCode code;
    /** The connection is closed after the refusal: its client floods, and answering each open costs more than a close. */
    final boolean closeConnection;

    SessionRefused(ErrorCode code, String message) {
        this(code, message, false);
    }

    SessionRefused(ErrorCode code, String message, boolean closeConnection) {
        super(message, null, false, false);
        this.code = code;
        this.closeConnection = closeConnection;
    }
}

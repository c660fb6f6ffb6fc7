package dev.catena.core.client;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;
import dev.catena.core.security.RecordSignatures;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A client's view of a directory without the records that name a key but are not signed by it
 * (somebody else announced them). Unsigned records (hand-written lists, older servers) are kept.
 * The key of each valid record is handed to the client, which then connects to that address only if
 * the server proves that key in its handshake, and treats a key it convicted as convicted at any address.
 */
final class SignedRecordsDirectory extends FilteringDirectory {
    /** Verdicts by record (a record changes at each refresh; cleared when it grows past this). */
    private static final int VERDICTS_KEPT = 8192;
    private final Map<ServerRecord, Boolean> verdicts = new ConcurrentHashMap<>();
    private final SwarmClient client;

    SignedRecordsDirectory(Directory inner, SwarmClient client) {
        super(inner);
        this.client = client;
    }

    @Override
    boolean keep(ServerRecord r) {
        if (verdicts.size() > VERDICTS_KEPT) verdicts.clear();
        boolean valid = verdicts.computeIfAbsent(r, k -> RecordSignatures.check(k) != RecordSignatures.Verdict.INVALID);
        if (!valid) {
            refuse(r, r.address() + " (its record names key " + (r.publicKey().isEmpty() ? "(none)" : shortKey(r))
                    + " but is not signed by it)");
            return false;
        }
        accepted(r);
        if (!r.publicKey().isEmpty()) client.expectKey(r.address(), RecordSignatures.publicKey(r));
        return true;
    }

    private static String shortKey(ServerRecord r) {
        var key = RecordSignatures.publicKey(r);
        return key == null ? "(malformed)" : dev.catena.transport.sign.Statements.fingerprint(key);
    }

    @Override
    String refusalKind() {
        return "bad record signatures";
    }
}

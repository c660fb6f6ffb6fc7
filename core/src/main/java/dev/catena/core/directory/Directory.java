package dev.catena.core.directory;

import java.util.List;

/**
 * Where clients find servers. Implementations now: {@link InMemoryDirectory} (tests, embedding) and
 * {@link StaticDirectory} (a fixed list); a distributed one can implement the same interface.
 * Thread-safe.
 */
public interface Directory {

    /** Adds or refreshes a server's record. */
    void announce(ServerRecord record);

    /** Removes a server. */
    void withdraw(String address);

    /** The online servers of {@code modelId}. */
    List<ServerRecord> servers(String modelId);
}

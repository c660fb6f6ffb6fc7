package dev.catena.api.directory;

import dev.catena.api.BlockRange;

import java.util.Objects;

/**
 * What a server announces about itself in a {@link Directory}.
 *
 * @param address       {@code host:port} that clients and peers connect to
 * @param modelId       the model's content fingerprint (what clients look servers up by)
 * @param modelName     the model's human-readable name (its file name), for display; may be empty
 * @param span          the blocks it hosts
 * @param throughput    steps per second it expects to sustain (higher is better); 0 when unknown
 * @param freeKvTokens  tokens of KV cache it could still admit
 * @param state         whether it serves
 * @param weightsDigest digest of its span's tensor bytes (servers with different digests are never
 *                      mixed in one route); empty when unknown
 * @param publicKey     the server's public key, base64; empty until servers have identities
 * @param signature     the server's signature over the record, base64; empty until servers have identities
 */
public record ServerRecord(String address, String modelId, String modelName, BlockRange span, double throughput,
                           long freeKvTokens, State state, String weightsDigest, String publicKey, String signature) {

    public enum State { ONLINE, JOINING, OFFLINE }

    public ServerRecord {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(modelId, "modelId");
        Objects.requireNonNull(span, "span");
        Objects.requireNonNull(state, "state");
        modelName = modelName == null ? "" : modelName;
        weightsDigest = weightsDigest == null ? "" : weightsDigest;
        publicKey = publicKey == null ? "" : publicKey;
        signature = signature == null ? "" : signature;
    }

    /** A record without name, digest or identity. */
    public ServerRecord(String address, String modelId, BlockRange span, double throughput, long freeKvTokens, State state) {
        this(address, modelId, "", span, throughput, freeKvTokens, state, "", "", "");
    }

    public static ServerRecord online(String address, String modelId, BlockRange span) {
        return new ServerRecord(address, modelId, span, 0, Long.MAX_VALUE, State.ONLINE);
    }

    /** This record with another throughput and free KV (what a refresh changes). */
    public ServerRecord withLoad(double throughput, long freeKvTokens) {
        return new ServerRecord(address, modelId, modelName, span, throughput, freeKvTokens, state, weightsDigest, publicKey, signature);
    }

    /** This record with a weights digest. */
    public ServerRecord withWeightsDigest(String digest) {
        return new ServerRecord(address, modelId, modelName, span, throughput, freeKvTokens, state, digest, publicKey, signature);
    }
}

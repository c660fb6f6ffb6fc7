package dev.catena.core.client;

import dev.catena.transport.proto.DType;

/**
 * What a session over the swarm runs: which model, its shape, and the session's size and wire format.
 *
 * @param nLayer    blocks of the model, all of which the route covers
 * @param nEmbd     hidden size, the width of every activation sent
 * @param maxLength tokens each server's KV cache must hold for the session
 * @param wire      the dtype activations travel in
 */
public record SessionSpec(String modelId, int nLayer, int nEmbd, int maxLength, DType wire) {
}

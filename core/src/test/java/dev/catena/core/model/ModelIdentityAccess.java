package dev.catena.core.model;

import java.nio.file.Path;

/** Test access to where a tensor's bytes lie. */
public final class ModelIdentityAccess {
    private ModelIdentityAccess() {
    }

    public static long[] tensorRange(Path model, String tensor) {
        return ModelIdentity.of(model).tensorRange(tensor);
    }

    public static void forget(Path model) {
        ModelIdentity.forget(model);
    }
}

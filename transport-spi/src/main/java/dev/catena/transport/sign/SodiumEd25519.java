package dev.catena.transport.sign;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.security.Key;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Ed25519 through libsodium ({@code libsodium.so.23}: {@code crypto_sign_detached} and
 * {@code crypto_sign_verify_detached}) by java.lang.foreign: about twice as fast to sign and two and a half
 * times as fast to verify as OpenSSL 3.0 here (24 and 55 us against 46 and 141 us), which matters because
 * every hop signs every step. Its verification is the strict kind (canonical signatures, no small-order
 * keys): it accepts nothing the JDK rejects.
 */
final class SodiumEd25519 implements Ed25519Library {
    private static final MethodHandle SEED_KEYPAIR, SIGN, VERIFY;
    /** Null where libsodium does not load or does not initialise. */
    static final SodiumEd25519 INSTANCE;
    /** libsodium's 64-byte secret keys (seed, then public key), by the JDK's encoding: derived once per key. */
    private static final Map<ByteBuffer, MemorySegment> SECRET_KEYS = new ConcurrentHashMap<>();

    static {
        MethodHandle seedKeypair = null, sign = null, verify = null;
        boolean ok = false;
        try {
            SymbolLookup sodium = SymbolLookup.libraryLookup("libsodium.so.23", Arena.global());
            Linker linker = Linker.nativeLinker();
            var A = ValueLayout.ADDRESS;
            var I = ValueLayout.JAVA_INT;
            var L = ValueLayout.JAVA_LONG;
            MethodHandle init = linker.downcallHandle(sodium.findOrThrow("sodium_init"), FunctionDescriptor.of(I));
            seedKeypair = linker.downcallHandle(sodium.findOrThrow("crypto_sign_seed_keypair"), FunctionDescriptor.of(I, A, A, A));
            sign = linker.downcallHandle(sodium.findOrThrow("crypto_sign_detached"), FunctionDescriptor.of(I, A, A, A, L, A));
            verify = linker.downcallHandle(sodium.findOrThrow("crypto_sign_verify_detached"), FunctionDescriptor.of(I, A, A, L, A));
            ok = (int) init.invokeExact() >= 0; // 0 initialised now, 1 already; -1 failed
        } catch (Throwable absent) {
            ok = false; // no libsodium here
        }
        SEED_KEYPAIR = seedKeypair;
        SIGN = sign;
        VERIFY = verify;
        INSTANCE = ok ? new SodiumEd25519() : null;
    }

    private SodiumEd25519() {
    }

    @Override
    public String name() {
        return "libsodium";
    }

    @Override
    public byte[] sign(Key key, byte[] message) {
        try (Arena arena = Arena.ofConfined()) {
            byte[] encoded = Ed25519Library.encoding(key, true);
            if (encoded == null) return null;
            MemorySegment secret = secretKey(encoded, arena);
            if (secret == null) return null;
            try {
                MemorySegment sig = arena.allocate(Statements.SIGNATURE_BYTES);
                MemorySegment m = arena.allocateFrom(ValueLayout.JAVA_BYTE, message);
                if ((int) SIGN.invokeExact(sig, MemorySegment.NULL, m, (long) message.length, secret) != 0) return null;
                return sig.toArray(ValueLayout.JAVA_BYTE);
            } finally {
                if (secret.scope().equals(arena.scope())) secret.fill((byte) 0); // not cached: no copy left behind
            }
        } catch (Throwable t) {
            return null;
        }
    }

    @Override
    public Boolean verify(Key key, byte[] message, byte[] signature) {
        try (Arena arena = Arena.ofConfined()) {
            byte[] encoded = Ed25519Library.encoding(key, false);
            if (encoded == null || signature.length != Statements.SIGNATURE_BYTES) return null;
            MemorySegment pk = arena.allocateFrom(ValueLayout.JAVA_BYTE, encoded).asSlice(encoded.length - 32); // the raw point
            MemorySegment sig = arena.allocateFrom(ValueLayout.JAVA_BYTE, signature);
            MemorySegment m = arena.allocateFrom(ValueLayout.JAVA_BYTE, message);
            return (int) VERIFY.invokeExact(sig, m, (long) message.length, pk) == 0;
        } catch (Throwable t) {
            return null;
        }
    }

    /**
     * The key's secret key in libsodium's form: cached, or (the cache full) derived into {@code arena}, whose
     * owner zeroes it after use ({@link #sign}).
     */
    private static MemorySegment secretKey(byte[] encoded, Arena arena) throws Throwable {
        ByteBuffer id = ByteBuffer.wrap(encoded);
        MemorySegment cached = SECRET_KEYS.get(id);
        if (cached != null) return cached;
        MemorySegment secret = arena.allocate(64);
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment seed = scratch.allocateFrom(ValueLayout.JAVA_BYTE, Arrays.copyOfRange(encoded, encoded.length - 32, encoded.length));
            MemorySegment pk = scratch.allocate(32);
            int status = (int) SEED_KEYPAIR.invokeExact(pk, secret, seed);
            seed.fill((byte) 0);
            if (status != 0) return null;
        }
        if (SECRET_KEYS.size() >= KEYS_CACHED) return secret;
        try { // cached for good in global memory; of two threads that derived it at once, one copy is kept
            return SECRET_KEYS.computeIfAbsent(id, k -> Arena.global().allocate(64).copyFrom(secret));
        } finally {
            secret.fill((byte) 0); // the derived copy, freed with the caller's arena
        }
    }
}

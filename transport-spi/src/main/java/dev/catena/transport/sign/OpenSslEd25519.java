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
 * Ed25519 through the system's OpenSSL 3 ({@code libcrypto.so.3}, {@code EVP_DigestSign} and
 * {@code EVP_DigestVerify}) by java.lang.foreign: about 12 times faster to sign and 5 times faster to
 * verify than the JDK's generic EdDSA here (46 and 141 us against 650 us each).
 */
final class OpenSslEd25519 implements Ed25519Library {
    private static final int EVP_PKEY_ED25519 = 1087; // NID_ED25519

    private static final MethodHandle NEW_PRIVATE, NEW_PUBLIC, PKEY_FREE, CTX_NEW, CTX_FREE, SIGN_INIT, SIGN, VERIFY_INIT, VERIFY;
    /** Null where libcrypto.so.3 does not load. */
    static final OpenSslEd25519 INSTANCE;
    /** EVP_PKEY handles by key encoding; a key is parsed once (servers and clients hold few keys). */
    private static final Map<ByteBuffer, MemorySegment> PKEYS = new ConcurrentHashMap<>();

    static {
        MethodHandle[] h = new MethodHandle[9];
        boolean ok = false;
        try {
            SymbolLookup crypto = SymbolLookup.libraryLookup("libcrypto.so.3", Arena.global());
            Linker linker = Linker.nativeLinker();
            var A = ValueLayout.ADDRESS;
            var I = ValueLayout.JAVA_INT;
            var L = ValueLayout.JAVA_LONG;
            String[] names = {"EVP_PKEY_new_raw_private_key", "EVP_PKEY_new_raw_public_key", "EVP_PKEY_free", "EVP_MD_CTX_new",
                    "EVP_MD_CTX_free", "EVP_DigestSignInit", "EVP_DigestSign", "EVP_DigestVerifyInit", "EVP_DigestVerify"};
            FunctionDescriptor[] d = {
                    FunctionDescriptor.of(A, I, A, A, L), FunctionDescriptor.of(A, I, A, A, L), FunctionDescriptor.ofVoid(A),
                    FunctionDescriptor.of(A), FunctionDescriptor.ofVoid(A),
                    FunctionDescriptor.of(I, A, A, A, A, A), FunctionDescriptor.of(I, A, A, A, A, L),
                    FunctionDescriptor.of(I, A, A, A, A, A), FunctionDescriptor.of(I, A, A, L, A, L)};
            for (int i = 0; i < names.length; i++) h[i] = linker.downcallHandle(crypto.findOrThrow(names[i]), d[i]);
            ok = true;
        } catch (RuntimeException | LinkageError absent) {
            ok = false; // no libcrypto.so.3 here: the JDK signs
        }
        NEW_PRIVATE = h[0];
        NEW_PUBLIC = h[1];
        PKEY_FREE = h[2];
        CTX_NEW = h[3];
        CTX_FREE = h[4];
        SIGN_INIT = h[5];
        SIGN = h[6];
        VERIFY_INIT = h[7];
        VERIFY = h[8];
        INSTANCE = ok ? new OpenSslEd25519() : null;
    }

    private OpenSslEd25519() {
    }

    @Override
    public String name() {
        return "OpenSSL";
    }

    @Override
    public byte[] sign(Key key, byte[] message) {
        try (Arena arena = Arena.ofConfined()) {
            PKey pk = pkey(key, true);
            if (pk == null) return null;
            MemorySegment pkey = pk.handle();
            MemorySegment ctx = (MemorySegment) CTX_NEW.invokeExact();
            try {
                if ((int) SIGN_INIT.invokeExact(ctx, MemorySegment.NULL, MemorySegment.NULL, MemorySegment.NULL, pkey) != 1) return null;
                MemorySegment sig = arena.allocate(Statements.SIGNATURE_BYTES);
                MemorySegment sigLen = arena.allocateFrom(ValueLayout.JAVA_LONG, Statements.SIGNATURE_BYTES);
                MemorySegment tbs = arena.allocateFrom(ValueLayout.JAVA_BYTE, message);
                if ((int) SIGN.invokeExact(ctx, sig, sigLen, tbs, (long) message.length) != 1) return null;
                return sig.asSlice(0, sigLen.get(ValueLayout.JAVA_LONG, 0)).toArray(ValueLayout.JAVA_BYTE);
            } finally {
                CTX_FREE.invokeExact(ctx);
                if (pk.owned()) PKEY_FREE.invokeExact(pkey);
            }
        } catch (Throwable t) {
            return null;
        }
    }

    @Override
    public Boolean verify(Key key, byte[] message, byte[] signature) {
        try (Arena arena = Arena.ofConfined()) {
            PKey pk = pkey(key, false);
            if (pk == null) return null;
            MemorySegment pkey = pk.handle();
            MemorySegment ctx = (MemorySegment) CTX_NEW.invokeExact();
            try {
                if ((int) VERIFY_INIT.invokeExact(ctx, MemorySegment.NULL, MemorySegment.NULL, MemorySegment.NULL, pkey) != 1) return null;
                MemorySegment sig = arena.allocateFrom(ValueLayout.JAVA_BYTE, signature);
                MemorySegment tbs = arena.allocateFrom(ValueLayout.JAVA_BYTE, message);
                return (int) VERIFY.invokeExact(ctx, sig, (long) signature.length, tbs, (long) message.length) == 1;
            } finally {
                CTX_FREE.invokeExact(ctx);
                if (pk.owned()) PKEY_FREE.invokeExact(pkey);
            }
        } catch (Throwable t) {
            return null;
        }
    }

    /** An EVP_PKEY; {@code owned} when it is not in the cache, so its user frees it. */
    private record PKey(MemorySegment handle, boolean owned) {
    }

    /** The key's EVP_PKEY, cached; null for an encoding that is not a plain Ed25519 key. */
    private static PKey pkey(Key key, boolean isPrivate) throws Throwable {
        byte[] encoded = Ed25519Library.encoding(key, isPrivate);
        if (encoded == null) return null;
        int prefix = encoded.length - 32;
        ByteBuffer id = ByteBuffer.wrap(encoded);
        MemorySegment cached = PKEYS.get(id);
        if (cached != null) return new PKey(cached, false);
        MemorySegment pkey;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment raw = arena.allocateFrom(ValueLayout.JAVA_BYTE, Arrays.copyOfRange(encoded, prefix, encoded.length));
            pkey = (MemorySegment) (isPrivate ? NEW_PRIVATE : NEW_PUBLIC).invokeExact(EVP_PKEY_ED25519, MemorySegment.NULL, raw, 32L);
        }
        if (pkey.equals(MemorySegment.NULL)) return null;
        if (PKEYS.size() < KEYS_CACHED && PKEYS.putIfAbsent(id, pkey) == null) return new PKey(pkey, false);
        MemorySegment other = PKEYS.get(id);
        if (other != null) { // another thread cached it first
            PKEY_FREE.invokeExact(pkey);
            return new PKey(other, false);
        }
        return new PKey(pkey, true); // the cache is full: freed after use
    }
}

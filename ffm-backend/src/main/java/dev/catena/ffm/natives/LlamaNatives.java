package dev.catena.ffm.natives;

import dev.catena.api.BackendUnavailableException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Loads llama.cpp's libraries once per JVM: the user's own build when {@code -Dcatena.llama.dir}
 * or {@code CATENA_LLAMA_DIR} names one, else the CPU build bundled in this jar (extracted by
 * {@link NativeCache}). Then it routes ggml's and llama.cpp's logs to {@link System.Logger} and
 * loads every ggml backend module in that directory ({@code ggml_backend_load_all_from_path}).
 * A failure is computed once and reported the same way on every use.
 */
public final class LlamaNatives {
    /** The llama.cpp release the bindings were written against. */
    public static final String RELEASE = "v0.5.0";
    public static final String DIR_PROPERTY = "catena.llama.dir";
    public static final String DIR_ENV = "CATENA_LLAMA_DIR";
    static final String RESOURCES = "/dev/catena/ffm/natives/linux-x86_64/";

    private static final System.Logger NATIVE_LOG = System.getLogger("dev.catena.ggml");
    private static final int MAX_ERROR_LINES = 16;
    /** This thread's ERROR lines since {@link #clearErrors()}: loaders say why before a generic last line. */
    private static final ThreadLocal<java.util.List<String>> ERRORS = ThreadLocal.withInitial(java.util.ArrayList::new);

    private LlamaNatives() {
    }

    /** The symbols of libggml-base, libggml and libllama; loads them on first use. */
    public static SymbolLookup lookup() {
        return Loaded.get().lookup;
    }

    /** The directory the libraries were loaded from. */
    public static Path directory() {
        return Loaded.get().dir;
    }

    /** Why the natives cannot be used here, if they cannot; never throws. */
    public static Optional<Throwable> unavailabilityCause() {
        return Optional.ofNullable(Loaded.FAILURE);
    }

    /** Forgets this thread's earlier native errors; call right before a native call that may fail. */
    public static void clearErrors() {
        ERRORS.get().clear();
    }

    /**
     * The errors ggml and llama.cpp logged on this thread since {@link #clearErrors()}, joined with
     * "; ", then forgets them: native functions that fail by returning NULL say why only in their log.
     */
    public static Optional<String> takeErrors() {
        var lines = ERRORS.get();
        Optional<String> joined = lines.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", lines));
        lines.clear();
        return joined;
    }

    /** Holder: loading happens in class initialisation, exactly once, on first use. */
    private static final class Loaded {
        static final Loaded INSTANCE;
        static final Throwable FAILURE;

        static {
            Loaded loaded = null;
            Throwable failure = null;
            try {
                loaded = load();
            } catch (BackendUnavailableException e) {
                failure = e;
            } catch (IOException | RuntimeException | LinkageError e) {
                failure = new BackendUnavailableException("cannot load llama.cpp " + RELEASE + ": " + e.getMessage(), e);
            }
            INSTANCE = loaded;
            FAILURE = failure;
        }

        final Path dir;
        final SymbolLookup lookup;

        Loaded(Path dir, SymbolLookup lookup) {
            this.dir = dir;
            this.lookup = lookup;
        }

        static Loaded get() {
            if (FAILURE instanceof BackendUnavailableException e) {
                // A fresh exception per call, so each caller's stack trace shows where it came from.
                throw new BackendUnavailableException(e.getMessage(), e);
            }
            return INSTANCE;
        }
    }

    private static Loaded load() throws IOException {
        requireNativeAccess();
        Path dir = libraryDirectory();
        Path base = find(dir, "libggml-base.so");
        Path ggml = find(dir, "libggml.so", "libggml.v*.so");
        Path llama = find(dir, "libllama.so", "libllama.v*.so");
        List<String> missing = new ArrayList<>();
        if (base == null) missing.add("libggml-base.so");
        if (ggml == null) missing.add("libggml.so (or libggml.v*.so)");
        if (llama == null) missing.add("libllama.so (or libllama.v*.so)");
        if (!missing.isEmpty()) {
            throw new BackendUnavailableException("llama.cpp libraries missing in " + dir + ": " + String.join(", ", missing)
                    + ". Point -D" + DIR_PROPERTY + " (or " + DIR_ENV + ") at a llama.cpp " + RELEASE
                    + " build's library folder, or unset it to use the CPU build bundled in catena-ffm-backend");
        }
        // The libraries stay loaded for the life of the JVM (native code can't be unloaded safely), hence global.
        Arena forever = Arena.global();
        SymbolLookup lookup = SymbolLookup.libraryLookup(base, forever)
                .or(SymbolLookup.libraryLookup(ggml, forever))
                .or(SymbolLookup.libraryLookup(llama, forever));
        installLogRouting(lookup);
        MethodHandle loadAll = downcall(lookup, "ggml_backend_load_all_from_path", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            loadAll.invokeExact(arena.allocateFrom(dir.toString()));
        } catch (Throwable t) {
            throw new IllegalStateException("ggml_backend_load_all_from_path failed", t);
        }
        return new Loaded(dir, lookup);
    }

    private static void requireNativeAccess() {
        Module module = LlamaNatives.class.getModule();
        if (!module.isNativeAccessEnabled()) {
            String flag = module.isNamed() ? "--enable-native-access=" + module.getName() : "--enable-native-access=ALL-UNNAMED";
            throw new BackendUnavailableException("native access is not enabled for "
                    + (module.isNamed() ? "module " + module.getName() : "the class path")
                    + ": run java with " + flag);
        }
    }

    private static Path libraryDirectory() throws IOException {
        String override = System.getProperty(DIR_PROPERTY);
        if (override == null || override.isBlank()) {
            override = System.getenv(DIR_ENV);
        }
        if (override != null && !override.isBlank()) {
            Path dir = Path.of(override).toAbsolutePath();
            if (!Files.isDirectory(dir)) {
                throw new BackendUnavailableException(DIR_PROPERTY + "/" + DIR_ENV + " names " + dir
                        + ", which is not a directory; point it at a llama.cpp " + RELEASE + " build's library folder");
            }
            return dir;
        }
        Path dir = NativeCache.extract(LlamaNatives.class, RESOURCES, RELEASE, NativeCache.root());
        if (dir == null) {
            throw new BackendUnavailableException("this catena-ffm-backend jar bundles no llama.cpp libraries for "
                    + System.getProperty("os.name") + "/" + System.getProperty("os.arch")
                    + ": build it with ./build (which fetches them), or point -D" + DIR_PROPERTY + " at a llama.cpp "
                    + RELEASE + " build");
        }
        return dir;
    }

    private static Path find(Path dir, String... globs) throws IOException {
        for (String glob : globs) {
            try (Stream<Path> files = Files.list(dir)) {
                var matcher = dir.getFileSystem().getPathMatcher("glob:" + glob);
                Optional<Path> hit = files.filter(p -> matcher.matches(p.getFileName())).sorted().findFirst();
                if (hit.isPresent()) {
                    return hit.get();
                }
            }
        }
        return null;
    }

    private static MethodHandle downcall(SymbolLookup lookup, String name, FunctionDescriptor descriptor) {
        MemorySegment address = lookup.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("unresolved symbol: " + name));
        return Linker.nativeLinker().downcallHandle(address, descriptor);
    }

    // --- logging -------------------------------------------------------------------------------

    private static final FunctionDescriptor LOG_CALLBACK =
            FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS);
    private static final int LOG_ERROR = 4;
    private static final int LOG_CONT = 5;
    private static final ThreadLocal<System.Logger.Level> PREVIOUS_LEVEL = new ThreadLocal<>();

    private static void installLogRouting(SymbolLookup lookup) {
        MemorySegment callback;
        try {
            MethodHandle target = MethodHandles.lookup().findStatic(LlamaNatives.class, "onNativeLog",
                    MethodType.methodType(void.class, int.class, MemorySegment.class, MemorySegment.class));
            callback = Linker.nativeLinker().upcallStub(target, LOG_CALLBACK, Arena.global());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        var setter = FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS);
        try {
            downcall(lookup, "ggml_log_set", setter).invokeExact(callback, MemorySegment.NULL);
            downcall(lookup, "llama_log_set", setter).invokeExact(callback, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new IllegalStateException("cannot install the native log callback", t);
        }
    }

    /** Called by native code on any thread; must never throw (an exception here would abort the JVM). */
    @SuppressWarnings("unused")
    private static void onNativeLog(int level, MemorySegment text, MemorySegment userData) {
        try {
            String message = text.reinterpret(Long.MAX_VALUE).getString(0).strip();
            if (message.isEmpty()) {
                return;
            }
            System.Logger.Level javaLevel = switch (level) {
                case LOG_ERROR -> System.Logger.Level.ERROR;
                // llama.cpp's warnings (unset special tokens and the like) are harmless for the model and
                // alarming to a reader; they show at DEBUG. Real failures come as errors, in Catena's exceptions too.
                case 3 -> System.Logger.Level.DEBUG;
                case 2 -> System.Logger.Level.DEBUG;
                case LOG_CONT -> Optional.ofNullable(PREVIOUS_LEVEL.get()).orElse(System.Logger.Level.DEBUG);
                default -> System.Logger.Level.TRACE;
            };
            PREVIOUS_LEVEL.set(javaLevel);
            var errors = ERRORS.get();
            if (javaLevel == System.Logger.Level.ERROR && errors.size() < MAX_ERROR_LINES) {
                errors.add(message);
            }
            NATIVE_LOG.log(javaLevel, message);
        } catch (Throwable ignored) {
            // Nothing can be reported from inside a native callback; dropping one log line is the safe choice.
        }
    }
}

package dev.catena.core;

import dev.catena.api.BlockRange;
import dev.catena.transport.spi.Transport;
import org.junit.jupiter.api.Test;

import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.reflect.Executable;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Member;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What an app compiles against: every public or protected member of every package core exports may
 * name only the JDK, core's exported packages and the exported packages of the modules core requires
 * transitively — never a protobuf type (generated or runtime) and never a non-exported package.
 */
class PublicApiSurfaceTest {

    private static ModuleDescriptor descriptorOf(Class<?> c) throws URISyntaxException {
        Path location = Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        return ModuleFinder.of(location).findAll().iterator().next().descriptor();
    }

    private static Set<String> exported(ModuleDescriptor d) {
        Set<String> s = new HashSet<>();
        d.exports().stream().filter(e -> !e.isQualified()).forEach(e -> s.add(e.source()));
        return s;
    }

    /** Packages a public signature may name, besides java.* */
    private static Set<String> allowed() throws URISyntaxException {
        Set<String> allowed = new HashSet<>(exported(descriptorOf(Catena.class)));
        allowed.addAll(exported(descriptorOf(BlockRange.class)));
        allowed.addAll(exported(descriptorOf(Transport.class)));
        allowed.remove("dev.catena.transport.proto"); // the wire schema is the transports' business, not an app's
        return allowed;
    }

    @Test
    void coreExportsOnlyItsFacadePackage() throws Exception {
        assertEquals(Set.of("dev.catena.core"), exported(descriptorOf(Catena.class)));
    }

    @Test
    void exportedSignaturesNameNoProtobufOrInternalType() throws Exception {
        Set<String> allowed = allowed();
        List<String> violations = new ArrayList<>();
        int checked = 0;
        for (String pkg : exported(descriptorOf(Catena.class))) {
            for (Class<?> c : classesIn(pkg)) {
                violations.addAll(violations(c, allowed));
                checked++;
            }
        }
        assertTrue(checked > 15, "the scan found the API's classes: " + checked);
        assertTrue(violations.isEmpty(), String.join("\n", violations));
    }

    @Test
    void theSwarmStatusIsPartOfTheCheckedApi() throws Exception {
        List<Class<?>> scanned = classesIn("dev.catena.core");
        for (Class<?> c : List.of(SwarmStatus.class, SwarmStatus.Server.class, SwarmStatus.Session.class, SwarmStatus.FailoverEvent.class,
                SwarmStatus.Counters.class, SwarmStatus.State.class)) {
            assertTrue(scanned.contains(c), c + " is scanned");
        }
        assertEquals(SwarmStatus.class, Generator.class.getMethod("status").getReturnType());
        assertFalse(scanned.contains(SwarmMonitor.class), "the probe behind it is not public");
    }

    @Test
    void theCheckCatchesALeak() throws Exception {
        List<String> v = violations(Leaky.class, allowed());
        assertFalse(v.isEmpty(), "a protobuf type in a public signature is reported");
        assertTrue(v.getFirst().contains("dev.catena.transport.proto.DType"), v.toString());
    }

    @Test
    void chatPromptsArePartOfTheScannedSurface() throws Exception {
        List<Class<?>> scanned = classesIn("dev.catena.core");
        for (Class<?> c : List.of(ChatMessage.class, ChatMessage.Role.class, ChatPrompt.class)) {
            assertTrue(scanned.contains(c) || scanned.contains(c.getEnclosingClass()), c + " is scanned");
        }
        // Generator.chatPrompt takes and returns facade types only, never the SPI's TemplateMessage.
        var m = Generator.class.getMethod("chatPrompt", List.class);
        assertEquals(ChatPrompt.class, m.getReturnType());
        assertEquals("java.util.List<dev.catena.core.ChatMessage>", m.getGenericParameterTypes()[0].getTypeName());
    }

    /** A public class that leaks the wire schema: what the scan must catch. */
    public static final class Leaky {
        public List<dev.catena.transport.proto.DType> wire() {
            return List.of();
        }
    }

    private static List<Class<?>> classesIn(String pkg) throws Exception {
        Path dir = Path.of(Catena.class.getProtectionDomain().getCodeSource().getLocation().toURI()).resolve(pkg.replace('.', '/'));
        List<Class<?>> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
                String name = f.getFileName().toString().replace(".class", "");
                if (name.equals("package-info") || name.equals("module-info")) continue;
                Class<?> c = Class.forName(pkg + "." + name.replace('/', '.'), false, PublicApiSurfaceTest.class.getClassLoader());
                if (isVisible(c)) out.add(c);
            }
        }
        return out;
    }

    /** Public, and every enclosing class public too: what another module can name. */
    private static boolean isVisible(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            if (!Modifier.isPublic(k.getModifiers()) || k.isAnonymousClass() || k.isLocalClass()) return false;
        }
        return true;
    }

    private static List<String> violations(Class<?> c, Set<String> allowed) {
        List<String> out = new ArrayList<>();
        Set<String> bad = new TreeSet<>();
        check(c.getGenericSuperclass(), allowed, bad);
        for (Type t : c.getGenericInterfaces()) check(t, allowed, bad);
        if (!bad.isEmpty()) out.add(c.getName() + " extends/implements " + bad);
        for (var f : c.getDeclaredFields()) {
            if (!exposed(f)) continue;
            bad = new TreeSet<>();
            check(f.getGenericType(), allowed, bad);
            if (!bad.isEmpty()) out.add(c.getName() + "." + f.getName() + ": " + bad);
        }
        List<Executable> executables = new ArrayList<>(List.of(c.getDeclaredMethods()));
        executables.addAll(List.of(c.getDeclaredConstructors()));
        for (Executable e : executables) {
            if (!exposed(e) || e.isSynthetic()) continue;
            bad = new TreeSet<>();
            if (e instanceof java.lang.reflect.Method m) check(m.getGenericReturnType(), allowed, bad);
            for (Type t : e.getGenericParameterTypes()) check(t, allowed, bad);
            for (Type t : e.getGenericExceptionTypes()) check(t, allowed, bad);
            if (!bad.isEmpty()) out.add(c.getName() + "." + e.getName() + ": " + bad);
        }
        for (Class<?> nested : c.getDeclaredClasses()) {
            if (isVisible(nested)) out.addAll(violations(nested, allowed));
        }
        return out;
    }

    private static boolean exposed(Member m) {
        return Modifier.isPublic(m.getModifiers()) || Modifier.isProtected(m.getModifiers());
    }

    private static void check(Type t, Set<String> allowed, Set<String> bad) {
        switch (t) {
            case null -> { }
            case Class<?> c when c.isArray() -> check(c.getComponentType(), allowed, bad);
            case Class<?> c -> {
                if (c.isPrimitive()) return;
                String pkg = c.getPackageName();
                if (!pkg.startsWith("java.") && !allowed.contains(pkg)) bad.add(c.getName());
            }
            case ParameterizedType p -> {
                check(p.getRawType(), allowed, bad);
                for (Type a : p.getActualTypeArguments()) check(a, allowed, bad);
            }
            case WildcardType w -> {
                for (Type b : w.getUpperBounds()) check(b, allowed, bad);
                for (Type b : w.getLowerBounds()) check(b, allowed, bad);
            }
            case GenericArrayType g -> check(g.getGenericComponentType(), allowed, bad);
            case TypeVariable<?> v -> {
                // B extends ModelBuilder<B>: a bound may name the variable again; the bound's raw type is what matters.
                for (Type b : v.getBounds()) check(b instanceof ParameterizedType p ? p.getRawType() : b, allowed, bad);
            }
            default -> bad.add(t.getTypeName());
        }
    }
}

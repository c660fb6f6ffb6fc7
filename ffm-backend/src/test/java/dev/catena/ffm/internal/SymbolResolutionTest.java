package dev.catena.ffm.internal;

import dev.catena.ffm.natives.LlamaNatives;
import org.junit.jupiter.api.Test;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every {@code --include-function} of {@code jextract-includes.txt} resolves in the shipped libraries
 * ({@link LlamaNatives#lookup()}), has its static method in {@code ggml_h}/{@code llama_h}, and links:
 * asking for its method handle makes the Linker accept its descriptor (struct-by-value layouts included).
 */
class SymbolResolutionTest {

    @Test
    void everyIncludedFunctionResolvesAndLinks() throws Exception {
        List<LayoutProbeTest.Include> functions = LayoutProbeTest.readIncludes().stream()
                .filter(i -> i.kind().equals("function")).toList();
        assertFalse(functions.isEmpty(), "no --include-function in jextract-includes.txt");
        SymbolLookup lookup = LlamaNatives.lookup();
        List<String> problems = new ArrayList<>();
        for (LayoutProbeTest.Include f : functions) {
            String name = f.name();
            Optional<MemorySegment> symbol = lookup.find(name);
            if (symbol.isEmpty()) {
                problems.add(name + ": not found in the libraries loaded from " + LlamaNatives.directory());
                continue;
            }
            String hc = LayoutProbeTest.headerClass(f);
            Class<?> cls = Class.forName(LayoutProbeTest.PACKAGE + hc);
            if (!hasStaticMethod(cls, name)) {
                problems.add(name + ": no static method " + hc + "." + name + "(...)");
                continue;
            }
            try {
                MemorySegment address = (MemorySegment) cls.getMethod(name + "$address").invoke(null);
                MethodHandle handle = (MethodHandle) cls.getMethod(name + "$handle").invoke(null);
                FunctionDescriptor descriptor = (FunctionDescriptor) cls.getMethod(name + "$descriptor").invoke(null);
                if (!address.equals(symbol.get())) {
                    problems.add(name + ": " + hc + "." + name + "$address() is " + address + ", the lookup says " + symbol.get());
                }
                int expected = descriptor.argumentLayouts().size()
                        + (descriptor.returnLayout().filter(l -> l instanceof java.lang.foreign.GroupLayout).isPresent() ? 1 : 0);
                if (handle.type().parameterCount() != expected) {
                    problems.add(name + ": handle type " + handle.type() + " does not fit descriptor " + descriptor);
                }
            } catch (InvocationTargetException e) {
                problems.add(name + ": cannot link: " + e.getCause());
            }
        }
        assertTrue(problems.isEmpty(), () -> problems.size() + " of " + functions.size()
                + " included functions do not resolve or link:\n  " + String.join("\n  ", problems));
    }

    static boolean hasStaticMethod(Class<?> cls, String name) {
        for (Method m : cls.getMethods()) {
            if (m.getName().equals(name) && Modifier.isStatic(m.getModifiers())) {
                return true;
            }
        }
        return false;
    }
}

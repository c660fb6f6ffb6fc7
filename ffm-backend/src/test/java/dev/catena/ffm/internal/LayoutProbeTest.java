package dev.catena.ffm.internal;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.PaddingLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks the generated bindings against the C compiler: for every struct and constant in
 * {@code jextract-includes.txt} it compiles a probe program against the pinned headers that prints
 * {@code sizeof}, {@code _Alignof} and {@code offsetof} of every field and the value of every constant,
 * then compares those with the Java layouts and constant methods. Field names come from the header text,
 * independently of the generator, so a field missing on the Java side is caught too.
 */
class LayoutProbeTest {
    static final String PACKAGE = "dev.catena.ffm.internal.";

    record Include(String kind, String name, String header) {
    }

    record CStruct(long size, long align, Map<String, long[]> fields) { // field -> {offset, size, align}
    }

    static Path baseDir() {
        String basedir = System.getProperty("basedir");
        return (basedir != null ? Path.of(basedir) : Path.of("")).toAbsolutePath();
    }

    static List<Include> readIncludes() throws IOException {
        Path list = baseDir().resolve("jextract-includes.txt");
        assertTrue(Files.isRegularFile(list), "the symbol list " + list + " is missing");
        Pattern line = Pattern.compile("--include-(\\w+)\\s+(\\w+)\\s*(?:#\\s*header:\\s*(\\S+))?\\s*");
        List<Include> includes = new ArrayList<>();
        for (String raw : Files.readAllLines(list, StandardCharsets.UTF_8)) {
            String s = raw.strip();
            if (s.isEmpty() || s.startsWith("#")) {
                continue;
            }
            Matcher m = line.matcher(s);
            assertTrue(m.matches(), "not an include line in " + list + ": " + s);
            includes.add(new Include(m.group(1), m.group(2), m.group(3)));
        }
        return includes;
    }

    static String headerClass(Include include) {
        return include.header() != null && include.header().endsWith("llama.h") ? "llama_h" : "ggml_h";
    }

    @Test
    void layoutsAndConstantsMatchTheCompiler() throws Exception {
        Path root = baseDir().resolve("target/llama-include");
        Path inc = root.resolve("include");
        Path ggmlInc = root.resolve("ggml/include");
        if (!Files.isRegularFile(inc.resolve("llama.h")) || !Files.isRegularFile(ggmlInc.resolve("ggml.h"))) {
            fail("the pinned llama.cpp headers are missing under " + root + " (expected include/llama.h and ggml/include/ggml.h);"
                    + " they are laid out by scripts/fetch-llama.sh in the generate-resources phase: run the build"
                    + " (e.g. ./build -pl ffm-backend test), not the test alone");
        }
        List<Include> includes = readIncludes();
        List<Include> structs = includes.stream().filter(i -> i.kind().equals("struct")).toList();
        List<Include> constants = includes.stream().filter(i -> i.kind().equals("constant")).toList();
        assertFalse(structs.isEmpty(), "no --include-struct in jextract-includes.txt");
        assertFalse(constants.isEmpty(), "no --include-constant in jextract-includes.txt");

        List<String> problems = new ArrayList<>();

        // Field names from the header text (not from the generator).
        Map<String, String> headerText = new LinkedHashMap<>();
        Set<String> headers = new LinkedHashSet<>();
        for (Include i : includes) {
            if (i.header() != null) {
                headers.add(i.header());
            }
        }
        if (headers.isEmpty()) {
            headers.addAll(List.of("ggml/include/ggml.h", "ggml/include/gguf.h", "ggml/include/ggml-alloc.h",
                    "ggml/include/ggml-backend.h", "include/llama.h"));
        }
        for (String h : headers) {
            Path p = root.resolve(h);
            assertTrue(Files.isRegularFile(p), "header " + h + " named in jextract-includes.txt is not under " + root);
            headerText.put(h, stripComments(Files.readString(p)));
        }
        Map<String, List<String>> fieldNames = new LinkedHashMap<>();
        for (Include s : structs) {
            List<String> names = null;
            for (var e : headerText.entrySet()) {
                if (s.header() != null && !s.header().equals(e.getKey())) {
                    continue;
                }
                try {
                    names = structFieldNames(e.getValue(), s.name());
                } catch (IllegalArgumentException ex) {
                    problems.add("struct " + s.name() + ": " + ex.getMessage());
                    names = List.of();
                }
                if (names != null) {
                    break;
                }
            }
            if (names == null) {
                problems.add("struct " + s.name() + ": no definition found in " + (s.header() != null ? s.header() : headers));
                names = List.of();
            }
            fieldNames.put(s.name(), names);
        }

        // The probe.
        StringBuilder c = new StringBuilder();
        c.append("#include <stdio.h>\n#include <stddef.h>\n");
        for (String h : headers) {
            c.append("#include \"").append(Path.of(h).getFileName()).append("\"\n");
        }
        c.append("#define FIELD(S, F) printf(\"field %s %s %zu %zu %zu\\n\", #S, #F, offsetof(struct S, F),"
                + " sizeof(((struct S *)0)->F), _Alignof(__typeof__(((struct S *)0)->F)));\n");
        c.append("int main(void) {\n");
        for (var e : fieldNames.entrySet()) {
            String s = e.getKey();
            c.append("    printf(\"struct %s %zu %zu\\n\", \"").append(s).append("\", sizeof(struct ").append(s)
                    .append("), _Alignof(struct ").append(s).append("));\n");
            for (String f : e.getValue()) {
                c.append("    FIELD(").append(s).append(", ").append(f).append(")\n");
            }
        }
        for (Include k : constants) {
            c.append("    printf(\"const %s %lld %.17g\\n\", \"").append(k.name()).append("\", (long long)(")
                    .append(k.name()).append("), (double)(").append(k.name()).append("));\n");
        }
        c.append("    return 0;\n}\n");
        List<String> output = compileAndRun(c.toString(), inc, ggmlInc);

        Map<String, CStruct> cStructs = new LinkedHashMap<>();
        Map<String, String[]> cConsts = new LinkedHashMap<>();
        for (String ln : output) {
            String[] t = ln.split(" ");
            switch (t[0]) {
                case "struct" -> cStructs.put(t[1], new CStruct(Long.parseLong(t[2]), Long.parseLong(t[3]), new LinkedHashMap<>()));
                case "field" -> cStructs.get(t[1]).fields().put(t[2],
                        new long[]{Long.parseLong(t[3]), Long.parseLong(t[4]), Long.parseLong(t[5])});
                case "const" -> cConsts.put(t[1], new String[]{t[2], t[3]});
                default -> fail("unexpected probe output: " + ln);
            }
        }

        for (Include s : structs) {
            try {
                compareStruct(s.name(), cStructs.get(s.name()), problems);
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                problems.add("struct " + s.name() + ": the Java class is unusable: " + rootCause(e));
            }
        }
        for (Include k : constants) {
            try {
                compareConstant(k, cConsts.get(k.name()), problems);
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                problems.add("constant " + k.name() + ": cannot read it from Java: " + rootCause(e));
            }
        }
        for (Include t : includes.stream().filter(i -> i.kind().equals("typedef")).toList()) {
            checkTypedef(t, problems);
        }

        assertTrue(problems.isEmpty(), () -> problems.size() + " mismatch(es) between the Java bindings in "
                + PACKAGE + "* and the C compiler's view of the pinned headers"
                + " (regenerate with scripts/jextract-lite/generate.py):\n  " + String.join("\n  ", problems));
    }

    // --- comparisons ------------------------------------------------------------------------------

    static void compareStruct(String name, CStruct c, List<String> problems) throws ReflectiveOperationException {
        if (c == null) {
            problems.add("struct " + name + ": the probe printed nothing for it");
            return;
        }
        Class<?> cls;
        try {
            cls = Class.forName(PACKAGE + name);
        } catch (ClassNotFoundException e) {
            problems.add("struct " + name + ": no Java class " + PACKAGE + name);
            return;
        }
        GroupLayout layout = (GroupLayout) cls.getMethod("layout").invoke(null);
        if (layout.byteSize() != c.size()) {
            problems.add("struct " + name + ": sizeof is " + c.size() + " in C but layout().byteSize() is " + layout.byteSize());
        }
        if (layout.byteAlignment() != c.align()) {
            problems.add("struct " + name + ": _Alignof is " + c.align() + " in C but layout().byteAlignment() is " + layout.byteAlignment());
        }
        long sizeof = (long) cls.getMethod("sizeof").invoke(null);
        if (sizeof != c.size()) {
            problems.add("struct " + name + ": sizeof is " + c.size() + " in C but " + name + ".sizeof() is " + sizeof);
        }
        Set<String> javaFields = new LinkedHashSet<>();
        for (MemoryLayout m : layout.memberLayouts()) {
            if (m instanceof PaddingLayout) {
                continue;
            }
            if (m.name().isEmpty()) {
                problems.add("struct " + name + ": layout() has an unnamed member " + m);
                continue;
            }
            javaFields.add(m.name().get());
        }
        for (var e : c.fields().entrySet()) {
            String f = e.getKey();
            long off = e.getValue()[0], size = e.getValue()[1], align = e.getValue()[2];
            if (!javaFields.contains(f)) {
                problems.add("struct " + name + ": field " + f + " (C offset " + off + ", size " + size + ") is missing from layout()");
                continue;
            }
            long jOff = layout.byteOffset(PathElement.groupElement(f));
            MemoryLayout jm = layout.select(PathElement.groupElement(f));
            if (jOff != off) {
                problems.add("struct " + name + ": field " + f + " is at offset " + off + " in C but at " + jOff + " in layout()");
            }
            if (jm.byteSize() != size) {
                problems.add("struct " + name + ": field " + f + " has size " + size + " in C but " + jm.byteSize() + " in layout()");
            }
            if (jm.byteAlignment() != align) {
                problems.add("struct " + name + ": field " + f + " has alignment " + align + " in C but " + jm.byteAlignment() + " in layout()");
            }
            Method offset = findStatic(cls, javaIdent(f) + "$offset");
            if (offset == null) {
                problems.add("struct " + name + ": no accessor " + name + "." + javaIdent(f) + "$offset()");
            } else {
                long jo = (long) offset.invoke(null);
                if (jo != off) {
                    problems.add("struct " + name + ": field " + f + " is at offset " + off + " in C but "
                            + name + "." + javaIdent(f) + "$offset() says " + jo);
                }
            }
            if (findStatic(cls, javaIdent(f), MemorySegment.class) == null) {
                problems.add("struct " + name + ": no getter " + name + "." + javaIdent(f) + "(MemorySegment)");
            }
        }
        for (String f : javaFields) {
            if (!c.fields().containsKey(f)) {
                problems.add("struct " + name + ": layout() has a field " + f + " that the C struct does not have");
            }
        }
    }

    static void compareConstant(Include k, String[] c, List<String> problems) throws ReflectiveOperationException {
        if (c == null) {
            problems.add("constant " + k.name() + ": the probe printed nothing for it");
            return;
        }
        String hc = headerClass(k);
        Method m = findStatic(Class.forName(PACKAGE + hc), k.name());
        if (m == null) {
            problems.add("constant " + k.name() + ": no method " + hc + "." + k.name() + "()");
            return;
        }
        Object v = m.invoke(null);
        long cLong = Long.parseLong(c[0]);
        double cDouble = Double.parseDouble(c[1]);
        boolean same = switch (v) {
            case Integer i -> i == (int) cLong;
            case Long l -> l == cLong;
            case Short s -> s == (short) cLong;
            case Byte b -> b == (byte) cLong;
            case Float f -> f == (float) cDouble;
            case Double d -> d == cDouble;
            default -> false;
        };
        if (!same) {
            problems.add("constant " + k.name() + ": C says " + c[0] + " (" + c[1] + "), " + hc + "." + k.name() + "() returns "
                    + v + " (" + v.getClass().getSimpleName() + ")");
        }
    }

    static void checkTypedef(Include t, List<String> problems) {
        try {
            Class<?> cls = Class.forName(PACKAGE + t.name());
            // A function-pointer class: initialising it builds the upcall and downcall handles.
            cls.getMethod("descriptor").invoke(null);
            return;
        } catch (ClassNotFoundException e) {
            // not a class: look for the layout field on the header class
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            problems.add("typedef " + t.name() + ": class " + PACKAGE + t.name() + " is unusable: " + rootCause(e));
            return;
        }
        String hc = headerClass(t);
        try {
            Field f = Class.forName(PACKAGE + hc).getField(t.name());
            if (!Modifier.isStatic(f.getModifiers()) || !(f.get(null) instanceof MemoryLayout)) {
                problems.add("typedef " + t.name() + ": " + hc + "." + t.name() + " is not a static layout");
            }
        } catch (ReflectiveOperationException e) {
            problems.add("typedef " + t.name() + ": neither a class " + PACKAGE + t.name() + " nor a field " + hc + "." + t.name());
        }
    }

    static Throwable rootCause(Throwable t) {
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }

    static Method findStatic(Class<?> cls, String name, Class<?>... params) {
        try {
            Method m = cls.getMethod(name, params);
            return Modifier.isStatic(m.getModifiers()) ? m : null;
        } catch (NoSuchMethodException e) {
            return null;
        }
    }

    static final Set<String> JAVA_KEYWORDS = Set.of("abstract", "assert", "boolean", "break", "byte", "case", "catch",
            "char", "class", "const", "continue", "default", "do", "double", "else", "enum", "extends", "final", "finally",
            "float", "for", "goto", "if", "implements", "import", "instanceof", "int", "interface", "long", "native", "new",
            "package", "private", "protected", "public", "return", "short", "static", "strictfp", "super", "switch",
            "synchronized", "this", "throw", "throws", "transient", "try", "void", "volatile", "while", "true", "false",
            "null", "var", "yield", "record", "sealed", "permits", "_");

    static String javaIdent(String name) {
        return JAVA_KEYWORDS.contains(name) ? name + "_" : name;
    }

    // --- the probe ---------------------------------------------------------------------------------

    static List<String> compileAndRun(String source, Path inc, Path ggmlInc) throws IOException, InterruptedException {
        Path dir = baseDir().resolve("target/layout-probe");
        Files.createDirectories(dir);
        Path src = dir.resolve("probe.c");
        Path exe = dir.resolve("probe");
        Files.writeString(src, source);
        Process gcc;
        try {
            gcc = new ProcessBuilder("gcc", "-std=c11", "-Wall", "-I", inc.toString(), "-I", ggmlInc.toString(),
                    "-o", exe.toString(), src.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            fail("gcc is not available (" + e.getMessage() + "): the layout probe compiles a C program against the"
                    + " pinned headers; install gcc (apt-get install gcc)");
            throw e;
        }
        String gccOut = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(gcc.waitFor(120, TimeUnit.SECONDS), "gcc did not finish in 120 s");
        assertTrue(gcc.exitValue() == 0, () -> "gcc could not compile the layout probe " + src
                + " (a symbol in jextract-includes.txt may not exist in the headers):\n" + gccOut);
        Process probe = new ProcessBuilder(exe.toString()).redirectErrorStream(true).start();
        String out = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(probe.waitFor(60, TimeUnit.SECONDS), "the layout probe did not finish in 60 s");
        assertTrue(probe.exitValue() == 0, () -> "the layout probe failed with exit code " + probe.exitValue() + ":\n" + out);
        return out.lines().filter(l -> !l.isBlank()).toList();
    }

    // --- header text -------------------------------------------------------------------------------

    /** Removes comments, keeping string and character literals intact. */
    static String stripComments(String s) {
        StringBuilder out = new StringBuilder(s.length());
        int i = 0, n = s.length();
        while (i < n) {
            char ch = s.charAt(i);
            if (ch == '/' && i + 1 < n && s.charAt(i + 1) == '/') {
                while (i < n && s.charAt(i) != '\n') {
                    i++;
                }
            } else if (ch == '/' && i + 1 < n && s.charAt(i + 1) == '*') {
                int end = s.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 2;
                out.append(' ');
            } else if (ch == '"' || ch == '\'') {
                int j = i + 1;
                while (j < n && s.charAt(j) != ch && s.charAt(j) != '\n') {
                    j += s.charAt(j) == '\\' ? 2 : 1;
                }
                j = Math.min(j + 1, n);
                out.append(s, i, j);
                i = j;
            } else {
                out.append(ch);
                i++;
            }
        }
        return out.toString();
    }

    private static final Pattern FN_POINTER = Pattern.compile("\\(\\s*\\*\\s*(\\w+)\\s*\\)\\s*\\(");
    private static final Pattern IDENT = Pattern.compile("[A-Za-z_]\\w*");

    /**
     * The member names of {@code struct name { ... }} in the (comment-free) header text, or null if the
     * header does not define it. Throws for what this small reader does not handle (nested definitions).
     */
    static List<String> structFieldNames(String text, String name) {
        Matcher m = Pattern.compile("\\bstruct\\s+" + Pattern.quote(name) + "\\s*\\{").matcher(text);
        if (!m.find()) {
            return null;
        }
        int start = m.end(), depth = 1, i = start;
        while (i < text.length() && depth > 0) {
            char ch = text.charAt(i++);
            if (ch == '{') {
                throw new IllegalArgumentException("nested struct/union definitions are not supported by the probe");
            }
            if (ch == '}') {
                depth--;
            }
        }
        String body = text.substring(start, i - 1);
        StringBuilder noPp = new StringBuilder();
        for (String ln : body.split("\n")) {
            if (!ln.strip().startsWith("#")) {
                noPp.append(ln).append('\n');
            }
        }
        List<String> names = new ArrayList<>();
        for (String decl : noPp.toString().split(";")) {
            String d = decl.strip();
            if (d.isEmpty()) {
                continue;
            }
            Matcher fp = FN_POINTER.matcher(d);
            if (fp.find()) {
                names.add(fp.group(1));
                continue;
            }
            d = d.replaceAll("\\[[^\\]]*\\]", " ").replaceAll(":\\s*\\w+\\s*$", " ");
            String[] declarators = d.split(",");
            for (int k = 0; k < declarators.length; k++) {
                String last = null;
                Matcher id = IDENT.matcher(declarators[k]);
                while (id.find()) {
                    last = id.group();
                }
                if (last == null) {
                    throw new IllegalArgumentException("cannot read the member declaration '" + decl.strip() + "'");
                }
                names.add(last);
            }
        }
        return names;
    }
}

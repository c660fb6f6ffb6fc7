package dev.catena.bench;

import dev.catena.api.BlockRange;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A {@link BenchServerMain} in a child JVM: same java, classpath and JVM options as this one. A child
 * is ended on every exit path: {@link #close}, a shutdown hook for whatever is still running when
 * this JVM exits, and the child itself when its stdin (this JVM) goes away.
 */
final class ServerProcess implements BenchServer {
    private static final Set<Process> RUNNING = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(Process::destroyForcibly), "bench-server-reaper"));
    }

    private final Process process;
    private final BufferedReader replies;
    private final Writer commands;
    private final String address;
    private final BlockRange blocks;
    /**
     * Set when a reply did not come in time: the late reply would then be read as the answer to the next command, so
     * the child is ended and every later command fails rather than pairing replies with the wrong commands.
     */
    private volatile boolean outOfStep;

    private ServerProcess(Process process, BlockRange blocks) throws IOException {
        this.process = process;
        this.blocks = blocks;
        this.replies = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        String ready = readLine(120);
        if (!ready.startsWith("ready ")) throw new IOException("a bench server said '" + ready + "' instead of 'ready ADDRESS'");
        this.address = ready.substring("ready ".length()).trim();
    }

    /**
     * Starts a server of {@code blocks}; {@code passThrough} (nLayer, hidden) for spans that compute nothing, else null;
     * {@code jvmOptions} after this JVM's own.
     */
    static ServerProcess start(Path model, String id, BlockRange blocks, int threads, int[] passThrough, List<String> jvmOptions)
            throws IOException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String option : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!option.startsWith("-agentlib") && !option.startsWith("-javaagent")) command.add(option); // no debugger port twice
        }
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), BenchServerMain.class.getName(), model.toString(), id,
                Integer.toString(blocks.start()), Integer.toString(blocks.end()), Integer.toString(threads)));
        if (passThrough != null) command.addAll(List.of(Integer.toString(passThrough[0]), Integer.toString(passThrough[1])));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        RUNNING.add(p);
        try {
            return new ServerProcess(p, blocks);
        } catch (IOException | RuntimeException e) {
            p.destroyForcibly();
            RUNNING.remove(p);
            throw e;
        }
    }

    /** The child's next line, waiting at most {@code seconds}; a child that exits or hangs is an IOException. */
    private String readLine(long seconds) throws IOException {
        var line = CompletableFuture.supplyAsync(() -> {
            try {
                return replies.readLine();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, Thread::startVirtualThread);
        try {
            String s = line.get(seconds, TimeUnit.SECONDS);
            if (s == null) throw new IOException("a bench server exited (status " + process.waitFor() + ")");
            return s;
        } catch (java.util.concurrent.TimeoutException e) {
            outOfStep = true;
            process.destroyForcibly();
            throw new IOException("a bench server did not answer within " + seconds + " s (ended)");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IOException("a bench server's output: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted waiting for a bench server");
        }
    }

    private synchronized String ask(String command) {
        if (outOfStep) throw new IllegalStateException("bench server at " + address + " was ended after a reply timed out");
        try {
            commands.write(command + "\n");
            commands.flush();
            String reply = readLine(30);
            if (reply.startsWith("error")) throw new IllegalStateException("bench server at " + address + ": " + reply);
            return reply;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("bench server at " + address + ": " + e.getMessage(), e);
        }
    }

    @Override public String address() { return address; }
    @Override public BlockRange blocks() { return blocks; }
    @Override public void route(String named, String via) { ask("route " + named + " " + via); }
    @Override public void reset() { ask("reset"); }

    @Override
    public Map<String, Long> counters() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String kv : ask("counters").split(",")) {
            int eq = kv.indexOf('=');
            if (eq > 0) m.put(kv.substring(0, eq), Long.parseLong(kv.substring(eq + 1)));
        }
        return m;
    }

    /** Ends the child: its stdin first (it closes its server and exits), then by force if it lingers. */
    @Override
    public void close() {
        try {
            commands.close();
        } catch (IOException ignored) {
            // gone already
        }
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            RUNNING.remove(process);
        }
    }
}

package dev.catena.bench.attack;

import dev.catena.transport.proto.ServerInfo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * One {@code ./catena server} process, started as a user would start it, with its address, its
 * resident memory (from {@code /proc/PID/status}) and its {@code ServerInfo}.
 */
final class ServerProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("catena server listening on (\\S+),");

    final String blocks;
    private final Process process;
    private final CompletableFuture<String> address = new CompletableFuture<>();
    private final Deque<String> lastLines = new ArrayDeque<>();

    private ServerProcess(String blocks, Process process) {
        this.blocks = blocks;
        this.process = process;
        Thread.ofPlatform().daemon().name("server-" + blocks + "-out").start(this::pump);
    }

    /** Starts {@code ./catena server --blocks blocks extra...} from {@code repo}. */
    static ServerProcess start(Path repo, Path model, String blocks, List<String> extra, String javaOpts) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(repo.resolve("catena").toString(), "server", "--model", model.toString(),
                "--blocks", blocks));
        cmd.addAll(extra);
        var pb = new ProcessBuilder(cmd).directory(repo.toFile()).redirectErrorStream(true);
        if (javaOpts != null && !javaOpts.isBlank()) pb.environment().put("CATENA_JAVA_OPTS", javaOpts);
        return new ServerProcess(blocks, pb.start());
    }

    private void pump() {
        try (var reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                var m = LISTENING.matcher(line);
                if (m.find()) address.complete(m.group(1));
                synchronized (lastLines) {
                    lastLines.add(line);
                    if (lastLines.size() > 40) lastLines.removeFirst();
                }
            }
        } catch (IOException ignored) {
            // the process ended
        }
        address.completeExceptionally(new IOException("server " + blocks + " exited before listening:\n" + output()));
    }

    String output() {
        synchronized (lastLines) {
            return String.join("\n", lastLines);
        }
    }

    String address(long timeoutSeconds) throws Exception {
        return address.get(timeoutSeconds, TimeUnit.SECONDS);
    }

    InetSocketAddress socketAddress() {
        String a = address.join();
        int colon = a.lastIndexOf(':');
        return new InetSocketAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1)));
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    /** Resident memory in bytes (VmRSS), or -1 when it cannot be read (the process is gone, or no /proc). */
    long rssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    ServerInfo info() throws IOException {
        return Wire.info(socketAddress(), 10_000);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
}

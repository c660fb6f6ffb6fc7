package dev.catena.samples.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static dev.catena.samples.cli.CatenaLauncherIT.REPO;

/**
 * A {@code ./catena} process run in the background, its output read as it comes: a server's address
 * and blocks as it prints them (at start and after each move), a client's output once it ends.
 */
final class CatenaProcess implements AutoCloseable {
    private static final Pattern PLACED = Pattern.compile("catena server (?:listening on|moved to) (\\S+), blocks \\[(\\d+), (\\d+)\\)");

    final Process process;
    private final StringBuffer out = new StringBuffer();
    private final CompletableFuture<String> err = new CompletableFuture<>();
    private final CompletableFuture<Void> ended = new CompletableFuture<>();
    /** The address and span it last printed, e.g. {@code 127.0.0.1:4000 [0, 2)}; null before it listens. */
    private volatile String address;
    private volatile int[] blocks;

    private CatenaProcess(Process process, boolean mergeErr) {
        this.process = process;
        Thread.ofPlatform().daemon().start(() -> {
            try (var reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    var m = PLACED.matcher(line);
                    if (m.find()) {
                        blocks = new int[] {Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))};
                        address = m.group(1);
                    }
                    out.append(line).append('\n');
                }
            } catch (IOException e) {
                out.append("(output lost: ").append(e.getMessage()).append(")\n");
            }
            ended.complete(null);
        });
        if (!mergeErr) {
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    err.complete(new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
                } catch (IOException e) {
                    err.complete("(stderr lost: " + e.getMessage() + ")");
                }
            });
        } else {
            err.complete("");
        }
    }

    /** Starts {@code ./catena ARGS}; a server's stderr goes with its stdout. */
    static CatenaProcess start(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(REPO.resolve("catena").toString()));
        cmd.addAll(List.of(args));
        boolean server = args.length > 0 && args[0].equals("server");
        var p = new ProcessBuilder(cmd).directory(REPO.toFile()).redirectErrorStream(server).start();
        p.getOutputStream().close();
        return new CatenaProcess(p, server);
    }

    /** Starts a server and waits until it listens. */
    static CatenaProcess server(String... args) throws Exception {
        var cmd = new ArrayList<>(List.of("server"));
        cmd.addAll(List.of(args));
        var s = start(cmd.toArray(String[]::new));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (s.address == null) {
            if (!s.process.isAlive() || System.nanoTime() > deadline) {
                s.close();
                throw new AssertionError("server " + String.join(" ", args) + " did not listen:\n" + s.out);
            }
            Thread.sleep(20);
        }
        return s;
    }

    String address() {
        return address;
    }

    int[] blocks() {
        return blocks.clone();
    }

    /** Waits for it to end; its exit status. */
    int await(long seconds) throws Exception {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) throw new AssertionError("catena did not end within " + seconds + " s");
        ended.get(10, TimeUnit.SECONDS);
        return process.exitValue();
    }

    String out() {
        return out.toString();
    }

    String err() throws Exception {
        return err.get(10, TimeUnit.SECONDS);
    }

    /** SIGKILL, as a crash would: no withdrawal from the directory. */
    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly();
    }
}

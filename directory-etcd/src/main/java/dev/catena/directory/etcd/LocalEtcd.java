package dev.catena.directory.etcd;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An etcd member process on this machine (for {@code catena etcd}, demos and tests): started on the
 * given ports with its data in a folder, stopped at {@link #close}. Output goes to
 * {@code DATA_DIR.log}. Find the binary with {@link #binary()}.
 */
public final class LocalEtcd implements AutoCloseable {
    private final String name;
    private final String host;
    private final int clientPort;
    private final Process process;
    private final Path log;
    private final AtomicBoolean closed = new AtomicBoolean();

    private LocalEtcd(String name, String host, int clientPort, Process process, Path log) {
        this.name = name;
        this.host = host;
        this.clientPort = clientPort;
        this.process = process;
        this.log = log;
    }

    /**
     * The etcd binary: the system property {@code catena.etcd.bin} (the binary or a folder holding
     * {@code etcd}), else {@code CATENA_ETCD_BIN}, else what {@code scripts/fetch-etcd.sh} of the
     * Catena checkout ({@code catena.home}) fetches into the user's cache on first use.
     *
     * @throws IllegalStateException saying how to get one, when none is found
     */
    public static Path binary() {
        String configured = System.getProperty("catena.etcd.bin", System.getenv("CATENA_ETCD_BIN"));
        if (configured != null && !configured.isBlank()) {
            Path p = Path.of(configured);
            if (Files.isDirectory(p)) p = p.resolve("etcd");
            if (!Files.isExecutable(p)) throw new IllegalStateException("no etcd binary at " + p + " (catena.etcd.bin / CATENA_ETCD_BIN)");
            return p;
        }
        String home = System.getProperty("catena.home", System.getProperty("catena.repo.dir"));
        if (home == null) {
            throw new IllegalStateException("no etcd binary: set CATENA_ETCD_BIN, or run from a Catena checkout (scripts/fetch-etcd.sh fetches one)");
        }
        Path script = Path.of(home, "scripts", "fetch-etcd.sh");
        try {
            Process p = new ProcessBuilder("bash", script.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            if (p.waitFor() != 0 || out.isEmpty()) throw new IllegalStateException(script + " failed (exit " + p.exitValue() + ")");
            return Path.of(out.lines().reduce((a, b) -> b).orElseThrow());
        } catch (IOException e) {
            throw new UncheckedIOException("running " + script + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while fetching etcd", e);
        }
    }

    /** A single-node etcd on {@code host}; waits until it answers (at most {@code timeout}). */
    public static LocalEtcd single(Path binary, String host, int clientPort, int peerPort, Path dataDir, Duration timeout) {
        String name = "catena-" + clientPort;
        var etcd = start(binary, name, host, clientPort, peerPort, dataDir, name + "=http://" + host + ":" + peerPort);
        etcd.awaitHealthy(timeout);
        return etcd;
    }

    /**
     * One member of a cluster; {@code initialCluster} is {@code NAME=http://HOST:PEER_PORT,...} over
     * every member. Returns at once: a member answers healthy only once a quorum runs, see
     * {@link #awaitHealthy}.
     */
    public static LocalEtcd start(Path binary, String name, String host, int clientPort, int peerPort, Path dataDir,
                                  String initialCluster) {
        try {
            Files.createDirectories(dataDir);
            Path log = dataDir.resolveSibling(dataDir.getFileName() + ".log");
            List<String> cmd = new ArrayList<>(List.of(binary.toString(),
                    "--name", name,
                    "--data-dir", dataDir.toString(),
                    "--listen-client-urls", "http://" + host + ":" + clientPort,
                    "--advertise-client-urls", "http://" + host + ":" + clientPort,
                    "--listen-peer-urls", "http://" + host + ":" + peerPort,
                    "--initial-advertise-peer-urls", "http://" + host + ":" + peerPort,
                    "--initial-cluster", initialCluster,
                    "--initial-cluster-token", "catena",
                    "--initial-cluster-state", "new"));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            return new LocalEtcd(name, host, clientPort, p, log);
        } catch (IOException e) {
            throw new UncheckedIOException("starting etcd (" + binary + "): " + e.getMessage(), e);
        }
    }

    /**
     * Waits until the member reports itself healthy (the cluster has a leader).
     *
     * @throws IllegalStateException with the end of its log, when it exits or stays unhealthy
     */
    public void awaitHealthy(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build()) {
            var request = HttpRequest.newBuilder(URI.create("http://" + host + ":" + clientPort + "/health"))
                    .timeout(Duration.ofSeconds(2)).build();
            while (true) {
                if (!process.isAlive()) {
                    throw new IllegalStateException("etcd " + name + " exited with " + process.exitValue() + ": " + tail());
                }
                try {
                    var r = http.send(request, HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 200 && r.body().contains("\"true\"")) return;
                } catch (IOException e) {
                    // not listening yet
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("etcd " + name + " not healthy within " + timeout.toSeconds() + " s: " + tail());
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for etcd " + name, e);
        }
    }

    private String tail() {
        try {
            var lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** {@code http://HOST:PORT}, as etcd's own tools take it. */
    public String clientUrl() {
        return "http://" + host + ":" + clientPort;
    }

    /** {@code HOST:PORT} of its client port. */
    public String endpoint() {
        return host + ":" + clientPort;
    }

    /** The directory URI of this member alone. */
    public URI directoryUri() {
        return URI.create("etcd://" + endpoint());
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Waits for the process to end (when something else stops it). */
    public int waitFor() throws InterruptedException {
        return process.waitFor();
    }

    /** Kills it at once (SIGKILL), as a crash would. */
    public void kill() {
        closed.set(true);
        process.destroyForcibly();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops it (SIGTERM, then SIGKILL after 5 s). Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    @Override
    public String toString() {
        return "etcd " + name + " at " + clientUrl();
    }
}

package dev.catena.core.directory;

import dev.catena.api.BlockRange;
import dev.catena.api.directory.Directory;
import dev.catena.api.directory.ServerRecord;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A directory in a shared file, one server a line ({@code address modelId start:end throughput
 * freeKvTokens weightsDigest modelName}, all after the span optional for hand-written lines; an
 * empty digest is written {@code -}): servers on
 * one machine or a shared filesystem announce themselves there and clients read it. Every change
 * rewrites the file under an exclusive lock, so concurrent servers don't lose each other's lines.
 */
public final class FileDirectory implements Directory {
    /** File locks are held per JVM, so threads of one JVM also take a monitor per file. */
    private static final java.util.concurrent.ConcurrentHashMap<Path, Object> MONITORS = new java.util.concurrent.ConcurrentHashMap<>();
    private final Path file;
    private final java.util.Set<String> announced = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public FileDirectory(Path file) {
        this.file = file;
    }

    @Override
    public void announce(ServerRecord record) {
        String line = record.address() + " " + record.modelId() + " " + record.span() + " "
                + String.format(java.util.Locale.ROOT, "%.1f", record.throughput()) + " " + record.freeKvTokens() + " "
                + (record.weightsDigest().isEmpty() ? "-" : record.weightsDigest()) + " "
                + (record.modelName().isBlank() ? "-" : record.modelName().replaceAll("\\s", "_"));
        announced.add(record.address());
        update(lines -> {
            lines.removeIf(l -> l.split(" ")[0].equals(record.address()));
            lines.add(line);
            return lines;
        });
    }

    @Override
    public void withdraw(String address) {
        announced.remove(address);
        update(lines -> {
            lines.removeIf(l -> l.split(" ")[0].equals(address));
            return lines;
        });
    }

    @Override
    public List<ServerRecord> servers(String modelId) {
        return records().stream().filter(r -> r.modelId().equals(modelId)).toList();
    }

    @Override
    public java.util.Map<String, List<ServerRecord>> allServers() {
        return records().stream().collect(java.util.stream.Collectors.groupingBy(ServerRecord::modelId, java.util.TreeMap::new,
                java.util.stream.Collectors.toList()));
    }

    private List<ServerRecord> records() {
        List<ServerRecord> out = new ArrayList<>();
        for (String line : update(UnaryOperator.identity())) {
            String[] f = line.trim().split("\\s+");
            if (f.length != 3 && f.length != 5 && f.length != 7) {
                continue; // not a record: skipped, never fatal
            }
            try {
                var span = BlockRange.parseList(f[2]).getFirst();
                if (f.length == 3) {
                    out.add(ServerRecord.online(f[0], f[1], span));
                } else {
                    String digest = f.length == 7 && !f[5].equals("-") ? f[5] : "";
                    String name = f.length == 7 && !f[6].equals("-") ? f[6] : "";
                    out.add(new ServerRecord(f[0], f[1], name, span, Double.parseDouble(f[3]), Long.parseLong(f[4]),
                            ServerRecord.State.ONLINE, digest, "", ""));
                }
            } catch (IllegalArgumentException malformed) {
                // a hand-edited line with a bad range or number: skipped
            }
        }
        out.sort(java.util.Comparator.comparing(ServerRecord::address));
        return List.copyOf(out);
    }

    /** Withdraws every record announced through this instance (the file has no leases: a killed server's line stays). */
    @Override
    public void close() {
        for (String address : List.copyOf(announced)) {
            withdraw(address);
        }
    }

    /** Applies {@code change} to the file's lines under the lock and returns the lines now in it. */
    private List<String> update(UnaryOperator<List<String>> change) {
        synchronized (MONITORS.computeIfAbsent(file.toAbsolutePath().normalize(), k -> new Object())) {
            return updateLocked(change);
        }
    }

    private List<String> updateLocked(UnaryOperator<List<String>> change) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
             FileLock ignored = ch.lock()) {
            ByteBuffer buf = ByteBuffer.allocate((int) ch.size());
            while (buf.hasRemaining() && ch.read(buf) >= 0) {
                // read all
            }
            List<String> lines = new ArrayList<>(new String(buf.array(), StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList());
            List<String> before = List.copyOf(lines);
            List<String> after = change.apply(lines);
            if (!after.equals(before)) {
                byte[] bytes = (String.join("\n", after) + (after.isEmpty() ? "" : "\n")).getBytes(StandardCharsets.UTF_8);
                ch.truncate(0);
                ch.write(ByteBuffer.wrap(bytes), 0);
                ch.force(false);
            }
            return after;
        } catch (IOException e) {
            throw new UncheckedIOException("directory file " + file + ": " + e.getMessage(), e);
        }
    }
}

package dev.catena.directory.etcd;

import dev.catena.api.directory.ServerRecord;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;

import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/** One model's records as an {@link EtcdDirectory} last heard them, kept current by a watch on the model's prefix. */
final class EtcdModelView {
    private static final System.Logger LOG = System.getLogger(EtcdModelView.class.getName());
    private final EtcdDirectory directory;
    final String prefix;
    final Map<String, ServerRecord> byKey = new ConcurrentHashMap<>();
    final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final Object syncLock = new Object();
    private volatile boolean synced;
    /** Bumped after every change of {@link #byKey}. */
    private final java.util.concurrent.atomic.AtomicLong version = new java.util.concurrent.atomic.AtomicLong();
    /** {@link #online()}'s answer for a version. */
    private volatile Cached online;
    private final AtomicBoolean resyncing = new AtomicBoolean();
    private io.etcd.jetcd.Watch.Watcher watcher; // guarded by syncLock

    EtcdModelView(EtcdDirectory directory, String prefix) {
        this.directory = directory;
        this.prefix = prefix;
    }

    /** Reads the prefix and starts watching after it, unless that happened already. */
    void awaitSynced() {
        if (synced) return;
        synchronized (syncLock) {
            if (synced) return;
            sync();
        }
    }

    /** Reads the prefix and watches from the revision read. The old view serves until this succeeds. */
    void sync() {
        synchronized (syncLock) {
            var response = directory.await(directory.client().getKVClient().get(EtcdDirectory.bytes(prefix), GetOption.builder().isPrefix(true).build()),
                    "reading " + prefix);
            Map<String, ServerRecord> fresh = new java.util.HashMap<>();
            for (KeyValue kv : response.getKvs()) {
                ServerRecord r = decode(kv);
                if (r != null) fresh.put(kv.getKey().toString(StandardCharsets.UTF_8), r);
            }
            byKey.keySet().retainAll(fresh.keySet());
            byKey.putAll(fresh);
            version.incrementAndGet();
            long revision = response.getHeader().getRevision();
            if (watcher != null) watcher.close();
            watcher = directory.client().getWatchClient().watch(EtcdDirectory.bytes(prefix),
                    WatchOption.builder().isPrefix(true).withRevision(revision + 1).build(),
                    io.etcd.jetcd.Watch.listener(this::apply, this::failed));
            synced = true;
        }
        notifyListeners();
    }

    private void apply(io.etcd.jetcd.watch.WatchResponse response) {
        for (WatchEvent e : response.getEvents()) {
            String k = e.getKeyValue().getKey().toString(StandardCharsets.UTF_8);
            if (e.getEventType() == WatchEvent.EventType.PUT) {
                ServerRecord r = decode(e.getKeyValue());
                if (r != null) byKey.put(k, r);
            } else if (e.getEventType() == WatchEvent.EventType.DELETE) {
                byKey.remove(k);
            }
        }
        version.incrementAndGet();
        notifyListeners();
    }

    /**
     * The watch broke (etcd unreachable, its revision compacted): clients keep planning from the
     * view they hold while it is read again and watched anew, retried every second.
     */
    private void failed(Throwable t) {
        if (directory.isClosed()) return;
        if (!resyncing.compareAndSet(false, true)) return; // one retry chain at a time
        LOG.log(System.Logger.Level.WARNING, "etcd watch on {0} failed ({1}); reading it again", prefix, t.getMessage());
        directory.worker().schedule(this::resync, 500, TimeUnit.MILLISECONDS);
    }

    private void resync() {
        if (directory.isClosed()) return;
        try {
            sync();
            resyncing.set(false);
        } catch (RuntimeException e) {
            if (!directory.isClosed()) directory.worker().schedule(this::resync, 1, TimeUnit.SECONDS);
        }
    }

    /** The online records sorted by address, computed once per change (a lookup is then a read). */
    List<ServerRecord> online() {
        long v = version.get();
        Cached c = online;
        if (c != null && c.version() == v) return c.records();
        List<ServerRecord> list = byKey.values().stream().filter(r -> r.state() == ServerRecord.State.ONLINE)
                .sorted(Comparator.comparing(ServerRecord::address)).toList();
        if (version.get() == v) online = new Cached(v, list); // not when a change came meanwhile
        return list;
    }

    private void notifyListeners() {
        if (listeners.isEmpty() || directory.isClosed()) return;
        List<ServerRecord> now = online();
        directory.worker().execute(() -> listeners.forEach(l -> l.offer(now)));
    }

    void close() {
        synchronized (syncLock) {
            if (watcher != null) watcher.close();
            watcher = null;
        }
    }

    static ServerRecord decode(KeyValue kv) {
        try {
            return RecordCodec.decode(kv.getValue().getBytes());
        } catch (IllegalArgumentException e) {
            LOG.log(System.Logger.Level.WARNING, "skipping a malformed record at {0}: {1}", kv.getKey().toString(StandardCharsets.UTF_8),
                    e.getMessage());
            return null;
        }
    }

    private record Cached(long version, List<ServerRecord> records) {
    }

    /** A watch's callback, never called twice in a row with the same list. Runs on the worker. */
    static final class Listener {
        private final Consumer<List<ServerRecord>> onChange;
        private List<ServerRecord> last;

        Listener(Consumer<List<ServerRecord>> onChange) {
            this.onChange = onChange;
        }

        void offer(List<ServerRecord> now) {
            if (now.equals(last)) return;
            last = now;
            try {
                onChange.accept(now);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "a directory watcher failed: " + e);
            }
        }
    }
}

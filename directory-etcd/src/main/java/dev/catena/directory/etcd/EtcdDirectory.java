package dev.catena.directory.etcd;

import dev.catena.api.directory.Directory;
import dev.catena.api.directory.DirectoryException;
import dev.catena.api.directory.DirectoryOptions;
import dev.catena.api.directory.ServerRecord;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A directory in etcd. Each server's record lives under {@code /catena/v1/models/MODEL_ID/ADDRESS}
 * on this directory's lease (TTL {@link DirectoryOptions#leaseTtl()}, kept alive while the
 * directory is open): it is withdrawn at {@link #close} and, when the process dies, vanishes as
 * the lease expires. A client reads a model's prefix once and then watches it, so
 * {@link #servers} answers from the local view, with no round trip. If the lease is lost (etcd
 * unreachable for longer than the TTL) a new one is granted and every record put again.
 */
final class EtcdDirectory implements Directory {
    static final String ROOT = "/catena/v1/models/";
    private static final System.Logger LOG = System.getLogger(EtcdDirectory.class.getName());
    /** Longer than etcd's own request timeout, so a request made during a leader election is answered. */
    static final Duration OP_TIMEOUT = Duration.ofSeconds(10);

    private final EtcdEndpoints endpoints;
    private final DirectoryOptions options;
    private final Duration opTimeout;
    private final Client client;
    /** Watch callbacks and lease renewal, one thread so that each watcher sees changes in order. */
    private final ScheduledExecutorService worker;
    private final Map<String, EtcdModelView> views = new ConcurrentHashMap<>();
    /** What this directory announced, by address: put again on a new lease. */
    private final Map<String, ServerRecord> announced = new ConcurrentHashMap<>();
    /** What is in etcd on the current lease, by address (a refresh equal to it is not written). */
    private final Map<String, ServerRecord> written = new ConcurrentHashMap<>();
    private final Object leaseLock = new Object();
    private long leaseId; // 0: none; guarded by leaseLock
    private CloseableClient keepAlive; // guarded by leaseLock
    private final AtomicBoolean closed = new AtomicBoolean();

    EtcdDirectory(EtcdEndpoints endpoints, DirectoryOptions options) {
        this(endpoints, options, OP_TIMEOUT);
    }

    EtcdDirectory(EtcdEndpoints endpoints, DirectoryOptions options, Duration opTimeout) {
        this.endpoints = endpoints;
        this.options = options;
        this.opTimeout = opTimeout;
        this.client = Client.builder().endpoints(endpoints.urls()).connectTimeout(Duration.ofSeconds(3))
                .retryMaxDuration(opTimeout).build();
        this.worker = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("catena-etcd").factory());
    }

    static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    static String key(String modelId, String address) {
        return ROOT + modelId + "/" + address;
    }

    <T> T await(CompletableFuture<T> f, String what) {
        try {
            return f.get(opTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DirectoryException(what + " on " + endpoints + " interrupted", e);
        } catch (ExecutionException e) {
            throw new DirectoryException(what + " on " + endpoints + " failed: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new DirectoryException(what + " on " + endpoints + ": no answer within " + opTimeout.toSeconds() + " s", e);
        }
    }

    // ---- announcing: records on a lease ----

    /**
     * Puts the record on this directory's lease. A refresh that changes nothing is not written (the
     * lease's keep-alive holds the record), so idle servers cost etcd only their keep-alives.
     */
    @Override
    public void announce(ServerRecord record) {
        ensureOpen();
        synchronized (leaseLock) {
            announced.put(record.address(), record);
            if (leaseId != 0 && record.equals(written.get(record.address()))) return;
            if (leaseId == 0) {
                grantLease(); // puts every announced record, this one included
            } else {
                put(record, leaseId);
            }
        }
    }

    private void put(ServerRecord record, long lease) {
        written.remove(record.address());
        await(client.getKVClient().put(bytes(key(record.modelId(), record.address())), ByteSequence.from(RecordCodec.encode(record)),
                PutOption.builder().withLeaseId(lease).build()), "announcing " + record.address());
        written.put(record.address(), record);
    }

    /** A new lease, kept alive from now on, with every announced record on it. Holds leaseLock. */
    private void grantLease() {
        long ttl = Math.max(1, options.leaseTtl().toSeconds());
        long id = await(client.getLeaseClient().grant(ttl), "granting a " + ttl + " s lease").getID();
        leaseId = id;
        keepAlive = client.getLeaseClient().keepAlive(id, new StreamObserver<>() {
            @Override
            public void onNext(LeaseKeepAliveResponse r) {
                if (r.getTTL() <= 0) leaseLost(id, "expired");
            }

            @Override
            public void onError(Throwable t) {
                leaseLost(id, t.getMessage());
            }

            @Override
            public void onCompleted() {
                leaseLost(id, "keep-alive ended");
            }
        });
        for (ServerRecord r : announced.values()) {
            put(r, id);
        }
    }

    /** The lease is gone: the records are (or soon will be) too, so they are put again on a new one. */
    private void leaseLost(long id, String why) {
        if (closed.get()) return;
        synchronized (leaseLock) {
            if (leaseId != id) return;
            LOG.log(System.Logger.Level.WARNING, "etcd lease {0} on {1} lost ({2}); announcing again on a new one",
                    Long.toHexString(id), endpoints, why);
            leaseId = 0;
            written.clear();
            if (keepAlive != null) keepAlive.close();
            keepAlive = null;
        }
        reannounce(Duration.ZERO);
    }

    private void reannounce(Duration delay) {
        if (closed.get()) return;
        worker.schedule(() -> {
            synchronized (leaseLock) {
                if (closed.get() || leaseId != 0 || announced.isEmpty()) return;
                try {
                    grantLease();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "etcd re-announce failed: {0}; retrying", e.getMessage());
                    if (keepAlive != null) keepAlive.close(); // of a lease granted before a put failed
                    keepAlive = null;
                    leaseId = 0;
                    written.clear();
                    reannounce(Duration.ofSeconds(1));
                }
            }
        }, delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void withdraw(String address) {
        ensureOpen();
        ServerRecord r = announced.remove(address);
        written.remove(address);
        if (r != null) {
            await(client.getKVClient().delete(bytes(key(r.modelId(), address))), "withdrawing " + address);
        }
    }

    // ---- finding: a watched local view per model ----

    @Override
    public List<ServerRecord> servers(String modelId) {
        return view(modelId).online();
    }

    /** Reads the prefix again and watches anew from there: the view then holds what etcd holds now. */
    @Override
    public List<ServerRecord> reread(String modelId) {
        ensureOpen();
        EtcdModelView existing = views.get(modelId);
        if (existing == null) return view(modelId).online(); // a new view has just read the prefix: no second read
        existing.awaitSynced();
        existing.sync();
        return existing.online();
    }

    @Override
    public Watch watch(String modelId, Consumer<List<ServerRecord>> onChange) {
        EtcdModelView v = view(modelId);
        var listener = new EtcdModelView.Listener(onChange);
        v.listeners.add(listener);
        worker.execute(() -> listener.offer(v.online()));
        return () -> v.listeners.remove(listener);
    }

    @Override
    public Watch watch(String modelId, Duration every, Consumer<List<ServerRecord>> onChange) {
        return watch(modelId, onChange); // pushed by etcd: nothing to poll
    }

    @Override
    public Map<String, List<ServerRecord>> allServers() {
        ensureOpen();
        var response = await(client.getKVClient().get(bytes(ROOT), GetOption.builder().isPrefix(true).build()), "listing " + ROOT);
        Map<String, List<ServerRecord>> out = new TreeMap<>();
        for (KeyValue kv : response.getKvs()) {
            ServerRecord r = EtcdModelView.decode(kv);
            if (r != null && r.state() == ServerRecord.State.ONLINE) out.computeIfAbsent(r.modelId(), k -> new ArrayList<>()).add(r);
        }
        out.values().forEach(l -> l.sort(Comparator.comparing(ServerRecord::address)));
        return out;
    }

    private EtcdModelView view(String modelId) {
        ensureOpen();
        EtcdModelView v = views.computeIfAbsent(modelId, id -> new EtcdModelView(this, ROOT + id + "/"));
        v.awaitSynced();
        return v;
    }

    Client client() {
        return client;
    }

    /** The thread of watch callbacks and lease renewal. */
    ScheduledExecutorService worker() {
        return worker;
    }

    boolean isClosed() {
        return closed.get();
    }

    private void ensureOpen() {
        if (closed.get()) throw new IllegalStateException("etcd directory " + endpoints + " is closed");
    }

    /** Revokes the lease (so every record announced here goes at once), stops the watches and disconnects. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        try {
            views.values().forEach(EtcdModelView::close);
            synchronized (leaseLock) {
                if (keepAlive != null) keepAlive.close();
                if (leaseId != 0) {
                    try {
                        client.getLeaseClient().revoke(leaseId).get(2, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        LOG.log(System.Logger.Level.WARNING, "revoking the etcd lease on {0} failed ({1}); its records go when it expires",
                                endpoints, e.getMessage());
                    }
                }
                leaseId = 0;
            }
        } finally {
            worker.shutdownNow();
            client.close();
        }
    }

    /** Stops everything without revoking the lease, as a killed process would (for tests). */
    void abandon() {
        if (!closed.compareAndSet(false, true)) return;
        synchronized (leaseLock) {
            if (keepAlive != null) keepAlive.close();
        }
        views.values().forEach(EtcdModelView::close);
        worker.shutdownNow();
        client.close();
    }

    @Override
    public String toString() {
        return endpoints.toString();
    }
}

package dev.catena.ffm.ggml;

import dev.catena.api.BackendUnavailableException;
import dev.catena.ffm.internal.*;
import dev.catena.ffm.natives.LlamaNatives;
import dev.catena.ffm.natives.NativeHandle;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static dev.catena.ffm.internal.ggml_h.*;

/** A ggml compute backend (CPU, or a GPU when its module loaded), with the buffers it allocates. */
public final class GgmlBackend implements AutoCloseable {
    private final NativeHandle handle;
    private final boolean cpu;
    private int threads = 1;
    private volatile int computeRank = CpuComputeGate.LAST;

    private GgmlBackend(NativeHandle handle) {
        this.handle = handle;
        this.cpu = ggml_backend_dev_type(ggml_backend_get_device(handle.get())) == GGML_BACKEND_DEVICE_TYPE_CPU();
    }

    /** The best CPU backend variant ggml loaded, computing with {@code threads} threads. */
    public static GgmlBackend cpu(int threads) {
        return forDevice("cpu", threads);
    }

    /**
     * A backend on {@code device}: {@code cpu}; {@code cuda}, the first GPU ggml loaded (an error when
     * there is none); or {@code auto}, a GPU when there is one, else the CPU.
     */
    public static GgmlBackend forDevice(String device, int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        MemorySegment gpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_GPU());
        MemorySegment dev = switch (device) {
            case "cpu" -> ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU());
            case "auto" -> gpu.equals(MemorySegment.NULL) ? ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU()) : gpu;
            case "cuda" -> {
                if (gpu.equals(MemorySegment.NULL)) {
                    throw noGpuDevice();
                }
                yield gpu;
            }
            default -> throw new IllegalArgumentException("device must be cpu, cuda or auto, got '" + device + "'");
        };
        var backend = new GgmlBackend(new NativeHandle("backend on " + device,
                ggml_backend_dev_init(dev, MemorySegment.NULL), b -> ggml_backend_free(b)));
        backend.setThreads(threads);
        return backend;
    }

    /** The error for {@code cuda} when ggml has no GPU device, naming the likely causes and the fix. */
    public static BackendUnavailableException noGpuDevice() {
        return new BackendUnavailableException("no GPU device: ggml has no CUDA device (libggml-cuda.so was not loaded, or it"
                + " found no GPU or driver; --verbose shows ggml's reason). Point -D" + LlamaNatives.DIR_PROPERTY
                + " at a llama.cpp " + LlamaNatives.RELEASE + " build that has libggml-cuda.so, on a machine with an NVIDIA GPU");
    }

    /** The device this backend computes on. */
    public MemorySegment device() {
        return ggml_backend_get_device(handle());
    }

    public boolean isCpu() {
        return cpu;
    }

    /**
     * Buffer types for weights, most preferred first, as llama.cpp orders them: on the CPU the
     * extra types that repack weights for faster kernels (e.g. Q4_K into q4_K_8x8), then the plain one.
     */
    public List<MemorySegment> weightBufferTypes() {
        List<MemorySegment> types = new ArrayList<>();
        if (isCpu()) {
            MemorySegment reg = ggml_backend_dev_backend_reg(device());
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment fn = ggml_backend_reg_get_proc_address(reg, arena.allocateFrom("ggml_backend_dev_get_extra_bufts"));
                if (!fn.equals(MemorySegment.NULL)) {
                    MemorySegment list = ggml_backend_dev_get_extra_bufts_t.invoke(fn, device())
                            .reinterpret(Long.MAX_VALUE);
                    for (long i = 0; ; i++) {
                        MemorySegment buft = list.getAtIndex(ValueLayout.ADDRESS, i);
                        if (buft.equals(MemorySegment.NULL)) {
                            break;
                        }
                        types.add(buft);
                    }
                }
            }
        }
        types.add(ggml_backend_get_default_buffer_type(handle()));
        return List.copyOf(types);
    }

    /** What decides bit-equality of this backend's outputs ({@link dev.catena.api.spi.Span#computeKind()}). */
    public String computeKind() {
        return ComputeKind.of(this);
    }

    public MemorySegment handle() {
        return handle.get();
    }

    public String name() {
        return ggml_backend_name(handle()).reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** Allocates every tensor of {@code ctx} in one buffer of this backend. */
    public BackendBuffer allocate(GgmlContext ctx) {
        return new BackendBuffer(new NativeHandle("backend buffer",
                GgmlException.nonNull(ggml_backend_alloc_ctx_tensors(ctx.handle(), handle()), "allocating tensors on " + name()),
                b -> ggml_backend_buffer_free(b)));
    }

    /**
     * Computes a graph of many ops (a span's blocks); every tensor in it must be allocated. On the CPU it
     * waits for its threads' share of the processors ({@link CpuComputeGate}): each op ends at a barrier
     * of ggml's spinning workers, and such graphs lose a time slice per barrier when the workers of
     * several computes outnumber the processors.
     */
    public void compute(MemorySegment graph) {
        int permits = cpu ? CpuComputeGate.acquire(threads, computeRank) : 0;
        try {
            computeUngated(graph);
        } finally {
            CpuComputeGate.release(permits);
        }
    }

    /**
     * Where this backend's computes queue for the processors among the others of this process ({@link
     * CpuComputeGate}): lower ranks first. A span's is its first block.
     */
    public synchronized void computeRank(int rank) {
        if (cpu) {
            CpuComputeGate.ranked(computeRank, rank);
        }
        this.computeRank = rank;
    }

    /**
     * Whether computes of a lower rank in this process hold the processors, wait for them, or gave them back
     * within {@code graceNanos} ({@link CpuComputeGate}); never on a GPU.
     */
    public boolean earlierRanksBusy(long graceNanos) {
        return cpu && CpuComputeGate.busyBefore(computeRank, threads, graceNanos);
    }

    /**
     * This backend's share of the processors, taken now and held by this thread until the turn closes ({@link
     * CpuComputeGate}; a GPU's computes do not wait: nothing is held). Computes of this thread within it do not
     * wait again.
     */
    public dev.catena.api.spi.ComputeTurn awaitTurn() {
        if (!cpu) {
            return dev.catena.api.spi.ComputeTurn.NONE;
        }
        int permits = CpuComputeGate.acquire(threads, computeRank);
        if (permits == 0) {
            return dev.catena.api.spi.ComputeTurn.NONE;
        }
        var closed = new java.util.concurrent.atomic.AtomicBoolean(); // a second close gives nothing back twice
        return () -> {
            if (closed.compareAndSet(false, true)) {
                CpuComputeGate.release(permits);
            }
        };
    }

    /**
     * Computes a graph of a few large ops (a model head's norm and matmul) at once, beside whatever else
     * computes: few barriers, so little lost to sharing the processors; gated, many clients' heads in one
     * process queued in turn with a server's span and kept its batches from forming (BENCHMARKS.md).
     */
    public void computeUngated(MemorySegment graph) {
        int status = ggml_backend_graph_compute(handle(), graph);
        if (status != GGML_STATUS_SUCCESS()) {
            throw new GgmlException("ggml_backend_graph_compute on " + name(), status);
        }
    }

    // The thread setter lives in the dynamically loaded CPU module; ggml hands it out by name.
    private void setThreads(int threads) {
        MemorySegment reg = ggml_backend_dev_backend_reg(ggml_backend_get_device(handle()));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fn = ggml_backend_reg_get_proc_address(reg, arena.allocateFrom("ggml_backend_set_n_threads"));
            if (fn.equals(MemorySegment.NULL)) {
                if (!isCpu()) {
                    return; // a GPU backend (CUDA) has no thread count: threads are the CPU's setting
                }
                throw new GgmlException(name() + " has no ggml_backend_set_n_threads");
            }
            ggml_backend_set_n_threads_t.invoke(fn, handle(), threads);
            this.threads = threads;
        }
    }

    /** Copies {@code values} into a F32 tensor of exactly that many elements. */
    public static void write(MemorySegment tensor, float[] values) {
        long bytes = ggml_nbytes(tensor);
        if (bytes != (long) values.length * Float.BYTES) {
            throw new IllegalArgumentException("tensor holds " + bytes + " bytes, got " + values.length + " floats");
        }
        HostCopies.write(tensor, values, values.length);
    }

    /** Reads a whole F32 tensor. */
    public static float[] readF32(MemorySegment tensor) {
        return HostCopies.readF32(tensor);
    }

    @Override
    public void close() {
        computeRank(CpuComputeGate.LAST);
        handle.close();
    }
}

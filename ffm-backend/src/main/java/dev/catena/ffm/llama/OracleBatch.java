package dev.catena.ffm.llama;

import dev.catena.ffm.internal.llama_batch;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.catena.ffm.internal.llama_h.*;

/**
 * A {@code llama_batch} made once for n_batch tokens, one sequence id each (sequence 0 unless set): each
 * call fills the tokens, their positions and which ones want logits. The oracle's, and {@link LlamaSequences}'.
 */
final class OracleBatch implements AutoCloseable {
    private final int capacity;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment batch;
    private final MemorySegment token;  // (capacity) int32
    private final MemorySegment pos;    // (capacity) int32
    private final MemorySegment logits; // (capacity) int8: 1 where llama.cpp keeps the row
    private final MemorySegment seqId;  // (capacity) int32*: each token's one sequence id

    OracleBatch(int capacity) {
        this.capacity = capacity;
        this.batch = llama_batch_init(arena, capacity, 0, 1);
        this.token = llama_batch.token(batch).reinterpret((long) capacity * Integer.BYTES);
        this.pos = llama_batch.pos(batch).reinterpret((long) capacity * Integer.BYTES);
        this.logits = llama_batch.logits(batch).reinterpret(capacity);
        MemorySegment nSeqId = llama_batch.n_seq_id(batch).reinterpret((long) capacity * Integer.BYTES);
        this.seqId = llama_batch.seq_id(batch).reinterpret((long) capacity * ValueLayout.ADDRESS.byteSize());
        for (int i = 0; i < capacity; i++) { // every token belongs to one sequence, 0 until set
            nSeqId.setAtIndex(ValueLayout.JAVA_INT, i, 1);
            seqId.getAtIndex(ValueLayout.ADDRESS, i).reinterpret(Integer.BYTES).set(ValueLayout.JAVA_INT, 0, 0);
        }
    }

    int capacity() {
        return capacity;
    }

    /**
     * Fills the batch with up to {@link #capacity} of {@code tokens} from {@code start}, at positions from
     * {@code position}; only the last of all {@code tokens} asks for logits.
     *
     * @return the batch ({@code llama_batch} by value) and how many tokens it holds
     */
    MemorySegment fill(int[] tokens, int start, int position) {
        int n = Math.min(capacity, tokens.length - start);
        for (int i = 0; i < n; i++) {
            token.setAtIndex(ValueLayout.JAVA_INT, i, tokens[start + i]);
            pos.setAtIndex(ValueLayout.JAVA_INT, i, position + i);
            logits.set(ValueLayout.JAVA_BYTE, i, (byte) (start + i == tokens.length - 1 ? 1 : 0));
        }
        return ofSize(n);
    }

    /** Sets token {@code i} of the batch: its id, sequence, position and whether it wants logits. */
    void set(int i, int t, int seq, int position, boolean wantLogits) {
        token.setAtIndex(ValueLayout.JAVA_INT, i, t);
        pos.setAtIndex(ValueLayout.JAVA_INT, i, position);
        seqId.getAtIndex(ValueLayout.ADDRESS, i).reinterpret(Integer.BYTES).set(ValueLayout.JAVA_INT, 0, seq);
        logits.set(ValueLayout.JAVA_BYTE, i, (byte) (wantLogits ? 1 : 0));
    }

    /** The batch ({@code llama_batch} by value) holding its first {@code n} tokens as set. */
    MemorySegment ofSize(int n) {
        llama_batch.n_tokens(batch, n);
        return batch;
    }

    @Override
    public void close() {
        llama_batch_free(batch);
        arena.close();
    }
}

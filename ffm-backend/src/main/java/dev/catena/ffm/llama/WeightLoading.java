package dev.catena.ffm.llama;

/**
 * How llama.cpp holds a model's weights ({@code llama_model_params.load_mode}). The numerics are the same;
 * the speed is not on a machine that reclaims file-backed pages while a process runs: mapped weights are
 * then read back from disk during decode.
 */
public enum WeightLoading {
    /** llama.cpp's default ({@code LLAMA_LOAD_MODE_AUTO}): memory-mapped where the platform can. */
    DEFAULT,
    /** Read into memory ({@code LLAMA_LOAD_MODE_NONE}): what llama.cpp does at its best on such a machine. */
    IN_MEMORY
}

package dev.catena.api;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The shape of a model as its GGUF file describes it.
 *
 * @param fileType     the GGUF {@code general.file_type} as llama.cpp names it (e.g. {@code ALL_F32},
 *                     {@code MOSTLY_Q4_K_M}), or {@code UNKNOWN(n)}
 * @param tensors      number of tensors in the file
 * @param nCtxTrain    the context length the file declares
 */
public record ModelInfo(
        Path path,
        String architecture,
        String name,
        int ggufVersion,
        int nLayer,
        int nEmbd,
        int nHead,
        int nHeadKv,
        int nFf,
        int nVocab,
        int nCtxTrain,
        String fileType,
        int tensors,
        long fileSize) {

    public ModelInfo {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(architecture, "architecture");
        Objects.requireNonNull(fileType, "fileType");
    }
}

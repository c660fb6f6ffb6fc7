package dev.catena.core;

/** Why a generation ended. */
public enum FinishReason {
    /** An end-of-text token or a stop sequence. */
    STOP,
    /** {@code maxTokens} tokens were generated. */
    LENGTH
}

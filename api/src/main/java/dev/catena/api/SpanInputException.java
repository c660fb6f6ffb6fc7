package dev.catena.api;

/** Input a span or head refuses (wrong size, bad position, NaN...); nothing was changed by the call. */
public final class SpanInputException extends CatenaException {
    public SpanInputException(String message) {
        super(message);
    }
}

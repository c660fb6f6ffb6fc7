/**
 * Span backend on llama.cpp's ggml, through java.lang.foreign. Run with
 * {@code --enable-native-access=dev.catena.ffm}. The bindings ({@code dev.catena.ffm.internal})
 * and the native loader are not exported.
 */
module dev.catena.ffm {
    requires dev.catena.api;
    exports dev.catena.ffm;
    provides dev.catena.api.spi.SpanBackendProvider with dev.catena.ffm.FfmBackendProvider;
}

package dev.catena.openai;

import dev.catena.api.CatenaException;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import tools.jackson.databind.node.ObjectNode;

/**
 * An answer in OpenAI's error shape. Parsing, routing and generation all fail by throwing one, so that a single place
 * ({@link Exchange#error}) turns every failure into the status, headers and body that OpenAI clients expect.
 */
final class ApiError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private static final System.Logger LOG = System.getLogger(OpenAiServer.class.getName());

    final transient HttpResponseStatus status;
    final String type;
    final String param;
    final String code;

    ApiError(HttpResponseStatus status, String type, String message, String param, String code) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    static ApiError bad(String message, String param) {
        return new ApiError(HttpResponseStatus.BAD_REQUEST, "invalid_request_error", message, param, null);
    }

    /** A request naming a model other than {@code served}. */
    static ApiError unknownModel(String name, String served) {
        return new ApiError(HttpResponseStatus.NOT_FOUND, "invalid_request_error",
                "The model '" + name + "' does not exist; this server serves '" + served + "'", "model", "model_not_found");
    }

    static ApiError methodNotAllowed(HttpMethod method, String path) {
        return new ApiError(HttpResponseStatus.METHOD_NOT_ALLOWED, "invalid_request_error",
                method + " is not allowed on " + path, null, "method_not_allowed");
    }

    ObjectNode body() {
        ObjectNode root = OpenAiServer.JSON.createObjectNode();
        ObjectNode e = root.putObject("error");
        e.put("message", getMessage());
        e.put("type", type);
        e.put("param", param);
        e.put("code", code);
        return root;
    }

    /** A generator failure as an API error. */
    static ApiError translate(RuntimeException e) {
        if (e instanceof ApiError a) return a;
        String msg = String.valueOf(e.getMessage());
        if (e instanceof IllegalArgumentException) {
            if (msg.contains("exceed max length")) {
                return new ApiError(HttpResponseStatus.BAD_REQUEST, "invalid_request_error",
                        "This model's maximum context length is exceeded: " + msg, "messages", "context_length_exceeded");
            }
            return ApiError.bad(msg, null);
        }
        if (e instanceof CatenaException) {
            return new ApiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_error", "the swarm cannot serve the request: " + msg,
                    null, "swarm_unavailable");
        }
        LOG.log(System.Logger.Level.WARNING, "generation failed", e);
        return new ApiError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "server_error", msg, null, null);
    }
}

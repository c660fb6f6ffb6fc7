package dev.catena.openai;

import dev.catena.core.ChatMessage;
import dev.catena.core.ChatPrompt;
import dev.catena.core.GenerationRequest;
import dev.catena.core.Generator;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Turns the JSON body of {@code /v1/completions} or {@code /v1/chat/completions} into a {@link Call}, answering every
 * unsupported or invalid field with a 400 {@link ApiError} before any generation starts.
 */
final class RequestParser {
    /**
     * A parsed request. {@code request} gives the generation request on the worker thread that runs it: a chat's
     * messages are rendered and tokenized there ({@link Generator#chatPrompt}), off Netty's event loop.
     */
    record Call(boolean chat, Supplier<GenerationRequest> request, boolean stream, boolean includeUsage, int logprobs) {
    }

    private final String model;
    private final int defaultChatMaxTokens;
    private final Function<List<ChatMessage>, ChatPrompt> chatPrompt;

    RequestParser(String model, int defaultChatMaxTokens, Function<List<ChatMessage>, ChatPrompt> chatPrompt) {
        this.model = model;
        this.defaultChatMaxTokens = defaultChatMaxTokens;
        this.chatPrompt = chatPrompt;
    }

    /** The call a completions ({@code chat} false) or chat completions request body asks for. */
    Call parse(String json, boolean chat) {
        JsonNode body;
        try {
            body = OpenAiServer.JSON.readTree(json);
        } catch (JacksonException e) {
            throw ApiError.bad("the request body is not valid JSON: " + e.getOriginalMessage(), null);
        }
        if (body == null || !body.isObject()) throw ApiError.bad("the request body must be a JSON object", null);
        return chat ? parseChat(body) : parseCompletion(body);
    }

    /** An OpenAI role as a chat message's ({@code developer} is the newer name of {@code system}). */
    static ChatMessage message(String role, String content) {
        return switch (role) {
            case "system", "developer" -> ChatMessage.system(content);
            case "user" -> ChatMessage.user(content);
            case "assistant" -> ChatMessage.assistant(content);
            default -> throw new IllegalArgumentException("unknown role " + role);
        };
    }

    private void checkModel(JsonNode body) {
        JsonNode m = body.get("model");
        if (m == null || m.isNull()) return;
        if (!m.isString()) throw ApiError.bad("'model' must be a string", "model");
        if (!m.stringValue().equals(model)) throw ApiError.unknownModel(m.stringValue(), model);
    }

    private Call parseCompletion(JsonNode body) {
        checkModel(body);
        JsonNode p = body.get("prompt");
        GenerationRequest.Builder b;
        if (p == null || p.isNull()) {
            throw ApiError.bad("'prompt' is required", "prompt");
        } else if (p.isString()) {
            if (p.stringValue().isEmpty()) throw ApiError.bad("'prompt' must not be empty", "prompt");
            b = GenerationRequest.builder(p.stringValue());
        } else if (p.isArray() && p.size() == 1 && p.get(0).isString()) {
            b = GenerationRequest.builder(p.get(0).stringValue());
        } else if (p.isArray() && !p.isEmpty() && allInts(p)) {
            List<Integer> ids = new ArrayList<>();
            for (JsonNode t : p) ids.add(t.intValue());
            b = GenerationRequest.builder(ids);
        } else {
            throw ApiError.bad("'prompt' must be a string or a non-empty array of token ids (one prompt per request)", "prompt");
        }
        int logprobs = -1;
        JsonNode lp = body.get("logprobs");
        if (lp != null && !lp.isNull()) {
            if (!lp.isIntegralNumber() || lp.intValue() < 0 || lp.intValue() > 5) {
                throw ApiError.bad("'logprobs' must be an integer in [0, 5]", "logprobs");
            }
            logprobs = lp.intValue();
        }
        if (body.path("echo").asBoolean(false)) throw ApiError.bad("'echo' is not supported yet", "echo");
        if (body.has("suffix") && !body.get("suffix").isNull()) throw ApiError.bad("'suffix' is not supported", "suffix");
        int maxTokens = intField(body, "max_tokens", 16, 1);
        return common(body, b, maxTokens, null, logprobs);
    }

    private Call parseChat(JsonNode body) {
        checkModel(body);
        JsonNode msgs = body.get("messages");
        if (msgs == null || !msgs.isArray() || msgs.isEmpty()) throw ApiError.bad("'messages' must be a non-empty array", "messages");
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < msgs.size(); i++) {
            JsonNode m = msgs.get(i);
            String role = m.path("role").isString() ? m.get("role").stringValue() : null;
            if (role == null || !List.of("system", "developer", "user", "assistant").contains(role)) {
                throw ApiError.bad("messages[" + i + "].role must be system, user or assistant", "messages[" + i + "].role");
            }
            messages.add(message(role, content(m.get("content"), i)));
        }
        int logprobs = -1;
        JsonNode lp = body.get("logprobs");
        if (lp != null && !lp.isNull() && !lp.isBoolean()) throw ApiError.bad("'logprobs' must be a boolean", "logprobs");
        if (lp != null && lp.booleanValue()) logprobs = intField(body, "top_logprobs", 0, 0);
        if (logprobs > 5) throw ApiError.bad("'top_logprobs' must be in [0, 5]", "top_logprobs");
        if (body.has("tools") && !body.get("tools").isNull() && !body.get("tools").isEmpty()) {
            throw ApiError.bad("'tools' is not supported", "tools");
        }
        int maxTokens = body.has("max_completion_tokens") && !body.get("max_completion_tokens").isNull()
                ? intField(body, "max_completion_tokens", defaultChatMaxTokens, 1)
                : intField(body, "max_tokens", defaultChatMaxTokens, 1);
        return common(body, GenerationRequest.builder(ChatPrompt.fallbackText(messages)), maxTokens, List.copyOf(messages), logprobs);
    }

    private static String content(JsonNode c, int i) {
        if (c == null || c.isNull()) return "";
        if (c.isString()) return c.stringValue();
        if (c.isArray()) {
            var sb = new StringBuilder();
            for (JsonNode part : c) {
                if (!"text".equals(part.path("type").asString(null)) || !part.path("text").isString()) {
                    throw ApiError.bad("messages[" + i + "].content: only text parts are supported", "messages[" + i + "].content");
                }
                sb.append(part.get("text").stringValue());
            }
            return sb.toString();
        }
        throw ApiError.bad("messages[" + i + "].content must be a string or an array of text parts", "messages[" + i + "].content");
    }

    /**
     * The call: options checked (400 for any bad one) on {@code b}, a builder of the completion's prompt or, for a
     * chat ({@code messages} not null), a stand-in that the worker replaces with the rendered conversation.
     */
    private Call common(JsonNode body, GenerationRequest.Builder b, int maxTokens, List<ChatMessage> messages, int logprobs) {
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && !(n.isIntegralNumber() && n.intValue() == 1)) {
            throw ApiError.bad("'n' must be 1: this server generates one choice per request", "n");
        }
        JsonNode bo = body.get("best_of");
        if (bo != null && !bo.isNull() && !(bo.isIntegralNumber() && bo.intValue() == 1)) {
            throw ApiError.bad("'best_of' must be 1", "best_of");
        }
        JsonNode streamNode = body.get("stream");
        if (streamNode != null && !streamNode.isNull() && !streamNode.isBoolean()) throw ApiError.bad("'stream' must be a boolean", "stream");
        boolean stream = streamNode != null && streamNode.asBoolean(false);
        boolean includeUsage = body.path("stream_options").path("include_usage").asBoolean(false);
        if (logprobs >= 0 && stream) throw ApiError.bad("'logprobs' with 'stream' is not supported yet", "logprobs");
        GenerationRequest checked = build(configure(body, b, maxTokens, logprobs));
        if (messages == null) return new Call(false, () -> checked, stream, includeUsage, logprobs);
        return new Call(true, () -> build(configure(body, chatPrompt.apply(messages).request(), maxTokens, logprobs)),
                stream, includeUsage, logprobs);
    }

    private static GenerationRequest build(GenerationRequest.Builder b) {
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw ApiError.bad(e.getMessage(), null);
        }
    }

    /** Applies the sampling, stop and logprobs options to {@code b}; the same body gives the same settings every time. */
    private static GenerationRequest.Builder configure(JsonNode body, GenerationRequest.Builder b, int maxTokens, int logprobs) {
        b.maxTokens(maxTokens);
        float temperature = floatField(body, "temperature", Float.NaN);
        if (!Float.isNaN(temperature) && (temperature < 0 || temperature > 2)) {
            throw ApiError.bad("'temperature' must be in [0, 2], got " + temperature, "temperature");
        }
        if (temperature == 0) {
            b.greedy();
        } else {
            if (!Float.isNaN(temperature)) b.temperature(temperature);
            float topP = floatField(body, "top_p", Float.NaN);
            if (!Float.isNaN(topP)) {
                if (!(topP > 0 && topP <= 1)) throw ApiError.bad("'top_p' must be in (0, 1], got " + topP, "top_p");
                b.topP(topP);
            }
            if (body.has("top_k") && !body.get("top_k").isNull()) b.topK(intField(body, "top_k", 40, 0));
            float minP = floatField(body, "min_p", Float.NaN);
            if (!Float.isNaN(minP)) {
                if (!(minP >= 0 && minP <= 1)) throw ApiError.bad("'min_p' must be in [0, 1], got " + minP, "min_p");
                b.minP(minP);
            }
            JsonNode seed = body.get("seed");
            if (seed != null && !seed.isNull()) {
                if (!seed.isIntegralNumber()) throw ApiError.bad("'seed' must be an integer", "seed");
                b.seed(seed.longValue());
            }
        }
        JsonNode stop = body.get("stop");
        if (stop != null && !stop.isNull()) {
            List<String> seqs = new ArrayList<>();
            if (stop.isString()) {
                seqs.add(stop.stringValue());
            } else if (stop.isArray() && stop.size() <= 4) {
                for (JsonNode s : stop) {
                    if (!s.isString()) throw ApiError.bad("'stop' must be a string or a list of up to 4 strings", "stop");
                    seqs.add(s.stringValue());
                }
            } else {
                throw ApiError.bad("'stop' must be a string or a list of up to 4 strings", "stop");
            }
            seqs.removeIf(String::isEmpty);
            b.stop(seqs.toArray(String[]::new));
        }
        if (body.path("ignore_eos").asBoolean(false)) b.ignoreEos(); // llama.cpp server's extension
        if (logprobs >= 0) b.keepLogits();
        return b;
    }

    private static boolean allInts(JsonNode a) {
        for (JsonNode t : a) if (!t.isIntegralNumber() || !t.canConvertToInt()) return false;
        return true;
    }

    private static int intField(JsonNode body, String name, int dflt, int min) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < min) {
            throw ApiError.bad("'" + name + "' must be an integer >= " + min, name);
        }
        return v.intValue();
    }

    private static float floatField(JsonNode body, String name, float dflt) {
        JsonNode v = body.get(name);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber()) throw ApiError.bad("'" + name + "' must be a number", name);
        return v.floatValue();
    }
}

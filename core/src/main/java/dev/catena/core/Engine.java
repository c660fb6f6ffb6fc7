package dev.catena.core;

import dev.catena.api.spi.ModelHead;
import dev.catena.api.spi.TemplateMessage;
import dev.catena.core.generation.GenerationLoop;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/** What local and swarm generators share: prompts, limits, streams and chat sessions over some chain. */
final class Engine {

    /** A chain opened for one generation or conversation. */
    interface Opened extends GenerationLoop.Session {
        /** The servers it runs on now; empty in process. */
        default List<RouteHop> route() {
            return List.of();
        }

        /** Every failover so far. */
        default List<Failover> failovers() {
            return List.of();
        }

        /** Results accepted from the route's second and later hops; 0 in process. */
        default long hopSteps() {
            return 0;
        }

        /** Of {@link #hopSteps()}, those computed on a pushed input. */
        default long pushedSteps() {
            return 0;
        }
    }

    /** An open chain and when it opened, for {@link #sessions()}. */
    private record Live(long id, java.time.Instant opened, Opened chain) {
    }

    /** Opens chains whose sessions hold {@code maxLength} tokens. */
    @FunctionalInterface
    interface Opener {
        Opened open(int maxLength);
    }

    final ModelHead head;
    /** Tokens of each generation's sessions, or {@link #AUTO}: its prompt plus maxTokens, within {@link #trainedContext}. */
    final int context;
    final int trainedContext;
    static final int AUTO = 0;
    private final Opener opener;
    private final Set<AutoCloseable> open = ConcurrentHashMap.newKeySet();
    private final java.util.Map<Long, Live> live = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicLong ids = new java.util.concurrent.atomic.AtomicLong();
    private volatile boolean closed;
    private final AtomicBoolean warnedTemplate = new AtomicBoolean();
    /** The model's chat template once read (empty: it has none); null before. */
    private volatile Optional<String> chatTemplate;
    private static final System.Logger LOG = System.getLogger(Engine.class.getName());

    /**
     * @param chatTemplate a chat template for {@link #chatPrompt} in place of the model's (a name the backend knows, such
     *                     as {@code chatml}, or a template's text), or null for the model's own
     * @throws IllegalArgumentException when {@code chatTemplate} is blank or the backend does not recognise it
     */
    Engine(ModelHead head, int context, int trainedContext, String chatTemplate, Opener opener) {
        this.head = head;
        this.context = context;
        this.trainedContext = trainedContext;
        this.opener = opener;
        if (chatTemplate != null) {
            // Checked now: a template the user named and the backend cannot render is a mistake, not a reason to fall back.
            var probe = List.of(new TemplateMessage("user", "Hello"));
            if (chatTemplate.isBlank() || head.applyChatTemplate(chatTemplate, probe, true).isEmpty()) {
                throw new IllegalArgumentException("the chat template '" + abbreviate(chatTemplate) + "' is not one the backend "
                        + "recognises (llama.cpp knows names such as chatml, llama2, llama3, mistral-v7, phi3, gemma, deepseek3, "
                        + "and template texts by their markers)");
            }
            this.chatTemplate = Optional.of(chatTemplate);
        }
    }

    Generation generate(GenerationRequest request) {
        try (TokenStream s = stream(request)) {
            return s.drain();
        }
    }

    TokenStream stream(GenerationRequest request) {
        requireOpen();
        int[] prompt = prompt(request, true);
        // Auto: no KV reserved beyond what this generation can use.
        int maxLength = context != AUTO ? context : (int) Math.min(trainedContext, (long) prompt.length + request.maxTokens());
        requireFits(0, prompt.length, request.maxTokens(), maxLength, context != AUTO ? "the context" : "the model's trained context");
        Opened chain = track(opener.open(maxLength));
        try {
            var loop = new GenerationLoop(head, chain, prompt, prompt, 0, request.maxTokens(), request.sampling(),
                    request.stopAtEndOfText(), request.keepLogits());
            var holder = new TokenStream[1];
            holder[0] = new TokenStream(head, loop, prompt, prompt, request, chain, s -> {
                open.remove(holder[0]);
                chain.close();
            });
            open.add(holder[0]);
            return holder[0];
        } catch (RuntimeException e) {
            chain.close();
            throw e;
        }
    }

    ChatSession openSession(int maxLength) {
        requireOpen();
        if (maxLength < 1) throw new IllegalArgumentException("maxLength must be >= 1, got " + maxLength);
        var session = new ChatSession(this, track(opener.open(maxLength)), maxLength);
        open.add(session);
        return session;
    }

    List<Integer> tokenize(String text, boolean bos) {
        return java.util.Arrays.stream(head.tokenize(text, bos)).boxed().toList();
    }

    /** See {@link Generator#chatPrompt}. */
    ChatPrompt chatPrompt(List<ChatMessage> messages) {
        requireOpen();
        if (messages.isEmpty()) throw new IllegalArgumentException("a chat prompt needs at least one message");
        Optional<String> template = chatTemplate;
        if (template == null) chatTemplate = template = head.chatTemplate().filter(t -> !t.isBlank()); // read once; races are harmless
        if (template.isPresent()) {
            List<TemplateMessage> turns = messages.stream().map(m -> new TemplateMessage(m.role().templateName(), m.content())).toList();
            Optional<String> text = head.applyChatTemplate(template.get(), turns, true);
            if (text.isPresent()) {
                // Parsed as llama.cpp's server does: the template's markers (<|im_start|>, ...) become special tokens.
                int[] ids = head.tokenize(text.get(), true, true);
                int[] bos = head.tokenize("", true);
                if (bos.length == 1 && ids.length >= 2 && ids[0] == bos[0] && ids[1] == bos[0]) {
                    ids = Arrays.copyOfRange(ids, 1, ids.length); // the template wrote BOS itself
                }
                return new ChatPrompt(text.get(), Arrays.stream(ids).boxed().toList(), true);
            }
            if (warnedTemplate.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.WARNING, "the model's chat template is not one the backend recognises; chat prompts use the "
                        + "fallback (\"Role: content\" lines, then \"Assistant:\"). Template: "
                        + abbreviate(template.get()));
            }
        }
        String text = ChatPrompt.fallbackText(messages);
        return new ChatPrompt(text, Arrays.stream(head.tokenize(text, true)).boxed().toList(), false);
    }

    private static String abbreviate(String s) {
        String one = s.replace("\n", "\\n");
        return one.length() <= 120 ? one : one.substring(0, 117) + "...";
    }

    String detokenize(List<Integer> tokens) {
        return head.detokenize(tokens.stream().mapToInt(Integer::intValue).toArray());
    }

    /** The chains open now (streams and chat sessions), oldest first. */
    List<SwarmStatus.Session> sessions() {
        return live.values().stream().sorted(java.util.Comparator.comparingLong(Live::id)).map(l -> {
            long hops = l.chain().hopSteps();
            return new SwarmStatus.Session(l.id(), l.opened(), l.chain().route(), hops,
                    hops == 0 ? 0 : (double) l.chain().pushedSteps() / hops);
        }).toList();
    }

    /** {@code chain}, listed in {@link #sessions()} until it closes. */
    private Opened track(Opened chain) {
        long id = ids.incrementAndGet();
        live.put(id, new Live(id, java.time.Instant.now(), chain));
        return new Opened() {
            @Override
            public float[] forwardLast(float[] hidden, int n, int position) {
                return chain.forwardLast(hidden, n, position);
            }

            @Override
            public List<RouteHop> route() {
                return chain.route();
            }

            @Override
            public List<Failover> failovers() {
                return chain.failovers();
            }

            @Override
            public long hopSteps() {
                return chain.hopSteps();
            }

            @Override
            public long pushedSteps() {
                return chain.pushedSteps();
            }

            @Override
            public void close() {
                live.remove(id);
                chain.close();
            }
        };
    }

    void forget(AutoCloseable c) {
        open.remove(c);
    }

    /** The request's prompt tokens: its ids as given, or its text tokenized (BOS as the vocabulary wants when {@code first}). */
    int[] prompt(GenerationRequest request, boolean first) {
        int[] ids = request.promptTokenArray();
        if (ids == null) {
            ids = head.tokenize(request.prompt().orElseThrow(), first);
            if (ids.length == 0) throw new IllegalArgumentException("the prompt has no tokens");
            return ids;
        }
        int nVocab = head.nVocab();
        for (int id : ids) {
            if (id < 0 || id >= nVocab) {
                throw new IllegalArgumentException("prompt token id " + id + " is not in the vocabulary [0, " + nVocab + ")");
            }
        }
        return ids.clone();
    }

    static void requireFits(int used, int prompt, int maxTokens, int maxLength, String what) {
        if ((long) used + prompt + maxTokens > maxLength) {
            throw new IllegalArgumentException((used > 0 ? used + " tokens so far + " : "") + "prompt (" + prompt + " tokens) + "
                    + maxTokens + " new tokens exceed max length " + maxLength + " (" + what + ")");
        }
    }

    private void requireOpen() {
        if (closed) throw new IllegalStateException("the generator is closed");
    }

    /** Closes every stream and chat session still open. */
    void close() {
        closed = true;
        RuntimeException failure = null;
        for (AutoCloseable c : new ArrayList<>(open)) {
            try {
                c.close();
            } catch (Exception e) {
                if (failure == null) failure = new IllegalStateException("closing an open stream or session failed", e);
                else failure.addSuppressed(e);
            }
        }
        open.clear();
        if (failure != null) throw failure;
    }
}

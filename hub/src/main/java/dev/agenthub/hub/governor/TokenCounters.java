package dev.agenthub.hub.governor;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import dev.agenthub.agents.TokenCounter;
import dev.agenthub.agents.Tokens;
import dev.agenthub.hub.config.HubConfig;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The token counter of each configured model: OpenAI's own tokenizer (o200k_base for the gpt-4o,
 * gpt-4.1, gpt-5 and o-series families, cl100k_base for gpt-4 and gpt-3.5) where a model on an OpenAI
 * provider has one, otherwise an estimate calibrated by what the provider reports (its ratio of
 * reported to estimated prompt tokens, averaged over recent calls). One per node, shared by the agents
 * (context trimming) and the governor (reservations); thread-safe.
 */
public final class TokenCounters implements Function<String, TokenCounter> {

  private static final EncodingRegistry REGISTRY = Encodings.newLazyEncodingRegistry();
  // one counter (and its memory of long strings) per encoding, shared by every model that uses it
  private static final Map<EncodingType, Exact> EXACT = new java.util.concurrent.ConcurrentHashMap<>();

  private final Map<String, TokenCounter> byModel = new HashMap<>();

  public TokenCounters(HubConfig config) {
    for (HubConfig.Model m : config.models().values()) {
      HubConfig.Provider p = config.providers().get(m.provider());
      Optional<EncodingType> encoding = "openai".equals(p.type()) ? encodingOf(m.name()) : Optional.empty();
      byModel.put(m.id(), encoding.<TokenCounter>map(TokenCounters::exact).orElseGet(Calibrated::new));
    }
  }

  /** OpenAI's encoding for a model name, if it is one of OpenAI's chat models. */
  static Optional<EncodingType> encodingOf(String name) {
    String n = name.toLowerCase(java.util.Locale.ROOT);
    if (n.startsWith("gpt-4o") || n.startsWith("gpt-4.1") || n.startsWith("gpt-4.5") || n.startsWith("gpt-5")
      || n.startsWith("chatgpt-4o") || n.startsWith("gpt-oss") || OpenAiClient.reasoning(n)) {
      return Optional.of(EncodingType.O200K_BASE);
    }
    if (n.startsWith("gpt-4") || n.startsWith("gpt-3.5")) {
      return Optional.of(EncodingType.CL100K_BASE);
    }
    return Optional.empty();
  }

  /** OpenAI's tokenizer for a model name, or the plain estimate when the name is not OpenAI's. */
  static TokenCounter openAi(String name) {
    return encodingOf(name).<TokenCounter>map(TokenCounters::exact).orElse(TokenCounter.ESTIMATE);
  }

  @Override
  public TokenCounter apply(String model) {
    return byModel.getOrDefault(model, TokenCounter.ESTIMATE);
  }

  private static Exact exact(EncodingType type) {
    return EXACT.computeIfAbsent(type, t -> new Exact(REGISTRY.getEncoding(t)));
  }

  /** Whether the model's count is an estimate that learns from the provider's reports. */
  boolean calibrating(String model) {
    return byModel.get(model) instanceof Calibrated;
  }

  /** Teaches a calibrated counter what the provider counted for a prompt it estimated. */
  void observe(String model, long estimated, long reported) {
    if (byModel.get(model) instanceof Calibrated c && estimated > 0 && reported > 0) {
      c.observe((double) reported / estimated);
    }
  }

  /**
   * A real tokenizer: special-token text counts as ordinary text, as user input must. Long texts
   * (system prompts, documents) are remembered: they come back call after call. Sessions' histories
   * are counted once where they are kept ({@code SessionHistory}), not here.
   */
  private static final class Exact implements TokenCounter {
    private static final int MEMO_FROM_CHARS = 1024;
    private final Encoding encoding;
    private final com.github.benmanes.caffeine.cache.Cache<String, Integer> memo =
      com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(2_000).build();

    Exact(Encoding encoding) {
      this.encoding = encoding;
    }

    @Override
    public int count(String text) {
      if (text == null || text.isEmpty()) {
        return 0;
      }
      if (text.length() < MEMO_FROM_CHARS) {
        return encoding.countTokensOrdinary(text);
      }
      return memo.get(text, encoding::countTokensOrdinary);
    }
  }

  /** Four characters a token, scaled by the provider's recent ratio of reported to estimated tokens. */
  private static final class Calibrated implements TokenCounter {
    private static final double WEIGHT = 0.05;
    private volatile double ratio = 1.0;

    @Override
    public int count(String text) {
      int estimate = Tokens.estimate(text);
      return estimate == 0 ? 0 : (int) Math.ceil(estimate * ratio);
    }

    void observe(double sample) {
      double clamped = Math.max(0.25, Math.min(4.0, sample));
      // the input estimate came from this counter: undo its own ratio to learn the plain one
      ratio = Math.max(0.25, Math.min(4.0, ratio * (1 - WEIGHT) + clamped * ratio * WEIGHT));
    }
  }
}

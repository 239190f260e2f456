package dev.agenthub.governor;


import dev.agenthub.protocol.TokenCounter;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What OpenAI's API does with a model name, in one place for the hub's client and the mock that
 * stands in for OpenAI: which models reason (they take {@code max_completion_tokens}, no
 * {@code stop}), and which tokenizer counts their prompts (o200k_base for the gpt-4o, gpt-4.1,
 * gpt-5 and o-series families, cl100k_base for gpt-4 and gpt-3.5).
 */
public final class OpenAiModels {

  private static final EncodingRegistry REGISTRY = Encodings.newLazyEncodingRegistry();
  // one counter (and its memory of long strings) per encoding, shared by every model that uses it
  private static final Map<EncodingType, Exact> EXACT = new ConcurrentHashMap<>();

  private OpenAiModels() {
  }

  /** A reasoning model: the gpt-5 family and the o-series (o1, o3, o4-mini, ...). */
  public static boolean reasoning(String name) {
    return name.startsWith("gpt-5") || name.length() > 1 && name.charAt(0) == 'o' && Character.isDigit(name.charAt(1));
  }

  /** OpenAI's encoding for a model name, if it is one of OpenAI's chat models. */
  static Optional<EncodingType> encoding(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    if (n.startsWith("gpt-4o") || n.startsWith("gpt-4.1") || n.startsWith("gpt-4.5") || n.startsWith("gpt-5")
      || n.startsWith("chatgpt-4o") || n.startsWith("gpt-oss") || reasoning(n)) {
      return Optional.of(EncodingType.O200K_BASE);
    }
    if (n.startsWith("gpt-4") || n.startsWith("gpt-3.5")) {
      return Optional.of(EncodingType.CL100K_BASE);
    }
    return Optional.empty();
  }

  /** OpenAI's own tokenizer for a model name, if the name is OpenAI's. */
  public static Optional<TokenCounter> tokenizer(String name) {
    return encoding(name).map(type -> EXACT.computeIfAbsent(type, t -> new Exact(REGISTRY.getEncoding(t))));
  }

  /** OpenAI's tokenizer for a model name, or the plain estimate when the name is not OpenAI's. */
  public static TokenCounter tokenizerOrEstimate(String name) {
    return tokenizer(name).orElse(TokenCounter.ESTIMATE);
  }

  /**
   * A real tokenizer: special-token text counts as ordinary text, as user input must. Long texts
   * (system prompts, documents) are remembered: they come back call after call. Sessions' histories
   * are counted once where they are kept ({@code SessionHistory}), not here.
   */
  private static final class Exact implements TokenCounter {
    private static final int MEMO_FROM_CHARS = 1024;
    private final Encoding encoding;
    private final Cache<String, Integer> memo = Caffeine.newBuilder().maximumSize(2_000).build();

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
}

package dev.agenthub.devtools.mock;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The mock provider's prompt cache: prefixes it has seen, by hash, bounded. A request's longest
 * seen prefix of at least {@link #MIN_TOKENS} tokens is read from the cache, as with OpenAI's
 * automatic caching and Anthropic's {@code cache_control} breakpoints.
 */
final class MockPromptCache {

  /** Providers cache prompts of at least this many tokens (OpenAI's and Claude Sonnet's minimum). */
  static final int MIN_TOKENS = 1024;
  private static final int ENTRIES = 100_000;

  private final Map<String, Boolean> seen = new LinkedHashMap<>(1024, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > ENTRIES;
    }
  };

  /**
   * Looks up a request's prefixes (hash and tokens each, shortest first) and remembers them; returns
   * the tokens of the longest prefix seen before (0 for none).
   */
  synchronized long readAndRemember(String[] hashes, long[] tokens) {
    long read = 0;
    for (int i = 0; i < hashes.length; i++) {
      if (tokens[i] < MIN_TOKENS) {
        continue;
      }
      if (seen.containsKey(hashes[i])) {
        read = Math.max(read, tokens[i]);
      }
      seen.put(hashes[i], Boolean.TRUE);
    }
    return read;
  }
}

package dev.agenthub.hub.governor;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.json.JsonArray;

/** One call to a model provider's API with one key. */
interface ProviderClient {

  /**
   * What came back: on success the content, tool calls ({@code [{id, name, arguments}]}) and usage;
   * otherwise the HTTP status (0 for a network failure) and headers for the key pool to read.
   */
  record Result(int status, MultiMap headers, String content, JsonArray toolCalls, long inputTokens,
                long outputTokens, String error, String keyId) {
    Result(int status, MultiMap headers, String content, JsonArray toolCalls, long inputTokens, long outputTokens,
           String error) {
      this(status, headers, content, toolCalls, inputTokens, outputTokens, error, null);
    }

    boolean ok() {
      return status >= 200 && status < 300;
    }

    Result withKey(String key) {
      return new Result(status, headers, content, toolCalls, inputTokens, outputTokens, error, key);
    }
  }

  /** {@code baseUrl} (with or without a trailing slash) joined with {@code path}. */
  static String endpoint(String baseUrl, String path) {
    return (baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl) + path;
  }

  Future<Result> complete(String secret, String model, JsonArray messages, JsonArray tools, int maxTokens,
                          long timeoutMs);
}

package dev.agenthub.governor;

import dev.agenthub.config.HubConfig;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.ToolChoice;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.json.JsonArray;

import java.util.List;
import java.util.function.Consumer;

/** One call to a model provider's API with one key, plain or streamed, and cancellable. */
interface ProviderClient {

  /**
   * One call.
   *
   * @param secret    the key's secret (never leaves the client but in its auth header)
   * @param model     the model, with its provider name and how it takes its output cap
   * @param messages  chat messages (OpenAI shape)
   * @param tools     tools (OpenAI shape, may be empty)
   * @param toolChoice whether and which tool the model must call (null: auto); sent only with tools
   * @param maxTokens output cap
   * @param stop      stop sequences (empty for none)
   * @param timeoutMs the whole call's deadline
   * @param deltas    receives the answer's text piece by piece as the provider streams it; null for a
   *                  plain (not streamed) call
   */
  record Call(String secret, HubConfig.Model model, JsonArray messages, JsonArray tools, ToolChoice toolChoice,
              int maxTokens, List<String> stop, long timeoutMs, Consumer<String> deltas) {
    boolean streamed() {
      return deltas != null;
    }
  }

  /**
   * What came back: on success the content, tool calls ({@code [{id, name, arguments}]}), usage and
   * finish reason; otherwise the HTTP status (0 for a network failure or timeout), the provider's
   * message and the parameter it named, and headers for the key pool to read. A cancelled call is a
   * success with what had come so far and finish reason {@link ModelCall#CANCELLED}.
   */
  record Result(int status, MultiMap headers, String content, JsonArray toolCalls, ModelCall.Usage usage,
                String finishReason, String error, String param, String keyId) {

    static Result failure(int status, MultiMap headers, String error, String param) {
      return new Result(status, headers, null, null, ModelCall.Usage.NONE, null, error, param, null);
    }

    static Result answer(MultiMap headers, String content, JsonArray toolCalls, ModelCall.Usage usage,
                         String finishReason) {
      return new Result(200, headers, content, toolCalls, usage, finishReason, null, null, null);
    }

    boolean ok() {
      return status >= 200 && status < 300;
    }

    Result withKey(String key) {
      return new Result(status, headers, content, toolCalls, usage, finishReason, error, param, key);
    }

    Result withFinish(String finish) {
      return new Result(status, headers, content, toolCalls, usage, finish, error, param, keyId);
    }

    Result withUsage(ModelCall.Usage u) {
      return new Result(status, headers, content, toolCalls, u, finishReason, error, param, keyId);
    }
  }

  /** A call under way. */
  interface Exchange {
    Future<Result> result();

    /** Cuts the call short: the result becomes what came so far, finish reason cancelled. */
    void cancel();
  }

  /** {@code baseUrl} (with or without a trailing slash) joined with {@code path}. */
  static String endpoint(String baseUrl, String path) {
    return (baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl) + path;
  }

  Exchange start(Call call);
}

package dev.agenthub.hub.governor;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;

/**
 * Chat completions on any OpenAI-compatible base URL (OpenAI, Ollama, vLLM, llama.cpp, LM Studio, the
 * mock). Tool names with dots (our skills) are sent with {@code __} instead, as OpenAI allows only
 * {@code [A-Za-z0-9_-]}, and mapped back.
 */
final class OpenAiClient implements ProviderClient {

  private final WebClient client;
  private final String url;

  OpenAiClient(WebClient client, String baseUrl) {
    this.client = client;
    this.url = ProviderClient.endpoint(baseUrl, "/chat/completions");
  }

  @Override
  public Future<Result> complete(String secret, String model, JsonArray messages, JsonArray tools, int maxTokens,
                                 long timeoutMs) {
    JsonObject body = new JsonObject().put("model", model).put("messages", outgoing(messages))
      .put("max_tokens", maxTokens);
    if (!tools.isEmpty()) {
      body.put("tools", outgoingTools(tools));
    }
    return client.postAbs(url).timeout(timeoutMs).putHeader("Authorization", "Bearer " + secret)
      .sendJsonObject(body)
      .map(resp -> {
        if (resp.statusCode() / 100 != 2) {
          return new Result(resp.statusCode(), resp.headers(), null, null, 0, 0, errorText(resp.bodyAsString()));
        }
        JsonObject json = resp.bodyAsJsonObject();
        JsonObject message = json.getJsonArray("choices").getJsonObject(0).getJsonObject("message");
        JsonArray calls = new JsonArray();
        JsonArray raw = message.getJsonArray("tool_calls", new JsonArray());
        for (int i = 0; i < raw.size(); i++) {
          JsonObject fn = raw.getJsonObject(i).getJsonObject("function");
          JsonObject args;
          try {
            args = new JsonObject(fn.getString("arguments", "{}"));
          } catch (RuntimeException e) {
            args = new JsonObject().put("raw", fn.getString("arguments"));
          }
          calls.add(new JsonObject().put("id", raw.getJsonObject(i).getString("id"))
            .put("name", fn.getString("name").replace("__", ".")).put("arguments", args));
        }
        JsonObject usage = json.getJsonObject("usage", new JsonObject());
        return new Result(resp.statusCode(), resp.headers(), message.getString("content", ""), calls,
          usage.getLong("prompt_tokens", 0L), usage.getLong("completion_tokens", 0L), null);
      })
      .otherwise(err -> new Result(0, MultiMap.caseInsensitiveMultiMap(), null, null, 0, 0,
        err.getClass().getSimpleName()));
  }

  static JsonArray outgoing(JsonArray messages) {
    JsonArray out = new JsonArray();
    for (int i = 0; i < messages.size(); i++) {
      JsonObject m = messages.getJsonObject(i).copy();
      JsonArray calls = m.getJsonArray("tool_calls");
      if (calls != null) {
        for (int j = 0; j < calls.size(); j++) {
          JsonObject fn = calls.getJsonObject(j).getJsonObject("function");
          fn.put("name", fn.getString("name").replace(".", "__"));
        }
      }
      out.add(m);
    }
    return out;
  }

  static JsonArray outgoingTools(JsonArray tools) {
    JsonArray out = new JsonArray();
    for (int i = 0; i < tools.size(); i++) {
      JsonObject t = tools.getJsonObject(i).copy();
      JsonObject fn = t.getJsonObject("function");
      fn.put("name", fn.getString("name").replace(".", "__"));
      out.add(t);
    }
    return out;
  }

  /** The provider's error message, never the request (which could echo a key). */
  static String errorText(String body) {
    try {
      String message = new JsonObject(body).getJsonObject("error").getString("message");
      return message == null ? "provider error" : message.replaceAll("sk-[A-Za-z0-9_-]{6,}", "sk-***");
    } catch (RuntimeException e) {
      return "provider error";
    }
  }
}

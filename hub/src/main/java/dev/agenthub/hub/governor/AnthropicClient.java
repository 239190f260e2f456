package dev.agenthub.hub.governor;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;

/**
 * The Anthropic Messages API with tool use. Chat messages in the OpenAI shape are converted: system
 * messages become {@code system}, assistant tool calls become {@code tool_use} blocks, tool results
 * {@code tool_result} blocks in a user message.
 */
final class AnthropicClient implements ProviderClient {

  static final String VERSION = "2023-06-01";
  private final WebClient client;
  private final String url;

  AnthropicClient(WebClient client, String baseUrl) {
    this.client = client;
    this.url = ProviderClient.endpoint(baseUrl, "/messages");
  }

  @Override
  public Future<Result> complete(String secret, String model, JsonArray messages, JsonArray tools, int maxTokens,
                                 long timeoutMs) {
    return client.postAbs(url).timeout(timeoutMs).putHeader("x-api-key", secret)
      .putHeader("anthropic-version", VERSION)
      .sendJsonObject(request(model, messages, tools, maxTokens))
      .map(resp -> resp.statusCode() / 100 != 2
        ? new Result(resp.statusCode(), resp.headers(), null, null, 0, 0, OpenAiClient.errorText(resp.bodyAsString()))
        : parse(resp.statusCode(), resp.headers(), resp.bodyAsJsonObject()))
      .otherwise(err -> new Result(0, MultiMap.caseInsensitiveMultiMap(), null, null, 0, 0,
        err.getClass().getSimpleName()));
  }

  static JsonObject request(String model, JsonArray messages, JsonArray tools, int maxTokens) {
    StringBuilder system = new StringBuilder();
    JsonArray out = new JsonArray();
    for (int i = 0; i < messages.size(); i++) {
      JsonObject m = messages.getJsonObject(i);
      String role = m.getString("role");
      switch (role) {
        case "system" -> system.append(system.isEmpty() ? "" : "\n\n").append(m.getString("content", ""));
        case "tool" -> out.add(new JsonObject().put("role", "user").put("content", new JsonArray().add(
          new JsonObject().put("type", "tool_result").put("tool_use_id", m.getString("tool_call_id"))
            .put("content", m.getString("content", "")))));
        case "assistant" -> {
          JsonArray blocks = new JsonArray();
          String text = m.getString("content");
          if (text != null && !text.isEmpty()) {
            blocks.add(new JsonObject().put("type", "text").put("text", text));
          }
          JsonArray calls = m.getJsonArray("tool_calls", new JsonArray());
          for (int j = 0; j < calls.size(); j++) {
            JsonObject fn = calls.getJsonObject(j).getJsonObject("function");
            blocks.add(new JsonObject().put("type", "tool_use").put("id", calls.getJsonObject(j).getString("id"))
              .put("name", fn.getString("name").replace(".", "__")).put("input", new JsonObject(fn.getString("arguments"))));
          }
          out.add(new JsonObject().put("role", "assistant").put("content", blocks));
        }
        default -> out.add(new JsonObject().put("role", "user").put("content", m.getString("content", "")));
      }
    }
    JsonObject body = new JsonObject().put("model", model).put("max_tokens", maxTokens).put("messages", out);
    if (!system.isEmpty()) {
      body.put("system", system.toString());
    }
    if (!tools.isEmpty()) {
      JsonArray ts = new JsonArray();
      for (int i = 0; i < tools.size(); i++) {
        JsonObject fn = tools.getJsonObject(i).getJsonObject("function");
        ts.add(new JsonObject().put("name", fn.getString("name").replace(".", "__"))
          .put("description", fn.getString("description", "")).put("input_schema", fn.getJsonObject("parameters")));
      }
      body.put("tools", ts);
    }
    return body;
  }

  static Result parse(int status, MultiMap headers, JsonObject json) {
    StringBuilder text = new StringBuilder();
    JsonArray calls = new JsonArray();
    JsonArray content = json.getJsonArray("content", new JsonArray());
    for (int i = 0; i < content.size(); i++) {
      JsonObject block = content.getJsonObject(i);
      if ("text".equals(block.getString("type"))) {
        text.append(block.getString("text", ""));
      } else if ("tool_use".equals(block.getString("type"))) {
        calls.add(new JsonObject().put("id", block.getString("id")).put("name", block.getString("name").replace("__", "."))
          .put("arguments", block.getJsonObject("input", new JsonObject())));
      }
    }
    JsonObject usage = json.getJsonObject("usage", new JsonObject());
    return new Result(status, headers, text.toString(), calls, usage.getLong("input_tokens", 0L),
      usage.getLong("output_tokens", 0L), null);
  }
}

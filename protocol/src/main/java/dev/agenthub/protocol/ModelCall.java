package dev.agenthub.protocol;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * The governor's event-bus contract: an agent sends a {@link Request} to {@link #ADDRESS} (a local
 * consumer on every node) and gets a {@link Reply}. Keys and provider details never appear here.
 * Messages and tools use the OpenAI chat shapes: {@code {role, content}} messages (plus
 * {@code tool_calls} on assistant messages and {@code tool_call_id} on tool messages) and
 * {@code {type: function, function: {name, description, parameters}}} tools.
 *
 * <p>A streamed call names an event-bus address ({@code stream_to}): the governor sends each piece of
 * the answer there as it comes from the provider, as {@code {"text"}} with headers {@link #STREAM_ID}
 * and {@link #OFFSET} (the piece's character offset in the turn's answer, so a receiver can drop
 * what it has and fill in what it missed from the final reply).
 */
public final class ModelCall {

  /** Local address of the governor on every node. */
  public static final String ADDRESS = "governor.complete";
  /** Local address where a call in flight is cancelled: body {@code {"call_id"}}. */
  public static final String CANCEL_ADDRESS = "governor.cancel";
  /** Header of a streamed delta: the stream it belongs to. */
  public static final String STREAM_ID = "stream-id";
  /** Header of a streamed delta: its character offset in the turn's answer. */
  public static final String OFFSET = "offset";
  /** Finish reason of a call that was cancelled while it ran (its content is what came so far). */
  public static final String CANCELLED = "cancelled";

  private ModelCall() {
  }

  /**
   * @param agent       calling agent id (the governor checks that the call is signed by it)
   * @param model       model key under {@code models:}
   * @param messages    chat messages
   * @param tools       tools the model may call (may be empty)
   * @param maxTokens   output token cap
   * @param priority    {@code interactive}, {@code heartbeat} or {@code batch}
   * @param stop        stop sequences (empty for none)
   * @param stream      where to stream the answer, or null for a plain call
   * @param inputTokens the prompt's tokens (messages and tools) as the agent counted them with the
   *                    model's counter, so the governor need not count again; 0 when unknown
   * @param client      the API client on whose behalf the call runs (its budget and TPM apply), or null
   * @param toolChoice  whether and which tool the model must call (null: {@code auto}); only sent with tools
   */
  public record Request(String agent, String model, JsonArray messages, JsonArray tools, int maxTokens,
                        Priority priority, List<String> stop, Stream stream, int inputTokens,
                        String client, ToolChoice toolChoice) {

    public Request {
      stop = stop == null ? List.of() : List.copyOf(stop);
    }

    public Request(String agent, String model, JsonArray messages, JsonArray tools, int maxTokens, Priority priority) {
      this(agent, model, messages, tools, maxTokens, priority, List.of(), null, 0, null, null);
    }

    public JsonObject toJson() {
      JsonObject json = new JsonObject().put("agent", agent).put("model", model).put("messages", messages)
        .put("tools", tools == null ? new JsonArray() : tools).put("max_tokens", maxTokens).put("priority", priority.id());
      if (!stop.isEmpty()) {
        json.put("stop", new JsonArray(stop));
      }
      if (stream != null) {
        json.put("stream", stream.toJson());
      }
      if (inputTokens > 0) {
        json.put("input_tokens", inputTokens);
      }
      if (client != null) {
        json.put("client", client);
      }
      if (toolChoice != null && toolChoice.forced()) {
        json.put("tool_choice", toolChoice.toJson());
      }
      return json;
    }

    public static Request fromJson(JsonObject json) {
      JsonArray stop = json.getJsonArray("stop", new JsonArray());
      JsonObject stream = json.getJsonObject("stream");
      return new Request(json.getString("agent"), json.getString("model"), json.getJsonArray("messages"),
        json.getJsonArray("tools", new JsonArray()), json.getInteger("max_tokens", 1024),
        Priority.of(json.getString("priority", "interactive")),
        stop.stream().map(String::valueOf).toList(), stream == null ? null : Stream.fromJson(stream),
        json.getInteger("input_tokens", 0), json.getString("client"), ToolChoice.fromJson(json.getValue("tool_choice")));
    }
  }

  /**
   * Where a streamed call's pieces go.
   *
   * @param address event-bus address that receives {@code {"text"}} pieces
   * @param id      the stream's id (header {@link #STREAM_ID} of each piece), also the call's id for cancel
   * @param offset  characters of the turn's answer already streamed before this call
   */
  public record Stream(String address, String id, int offset) {
    JsonObject toJson() {
      return new JsonObject().put("address", address).put("id", id).put("offset", offset);
    }

    static Stream fromJson(JsonObject json) {
      return new Stream(json.getString("address"), json.getString("id"), json.getInteger("offset", 0));
    }
  }

  /**
   * Tokens of one call as the provider reported them.
   *
   * @param input       every prompt token, cached or not
   * @param cachedInput prompt tokens read from the provider's prompt cache (priced at {@code cached-input})
   * @param cacheWrite  prompt tokens written to the provider's prompt cache (Anthropic; priced at {@code cache-write})
   * @param output      completion tokens, reasoning included
   * @param reasoning   of {@code output}, the tokens the model spent reasoning
   */
  public record Usage(long input, long cachedInput, long cacheWrite, long output, long reasoning) {
    public static final Usage NONE = new Usage(0, 0, 0, 0, 0);

    public Usage plus(Usage o) {
      return new Usage(input + o.input, cachedInput + o.cachedInput, cacheWrite + o.cacheWrite, output + o.output,
        reasoning + o.reasoning);
    }

    public JsonObject toJson() {
      return new JsonObject().put("input_tokens", input).put("output_tokens", output)
        .put("cached_input_tokens", cachedInput).put("cache_write_tokens", cacheWrite)
        .put("reasoning_tokens", reasoning);
    }

    public static Usage fromJson(JsonObject json) {
      if (json == null) {
        return NONE;
      }
      return new Usage(json.getLong("input_tokens", 0L), json.getLong("cached_input_tokens", 0L),
        json.getLong("cache_write_tokens", 0L), json.getLong("output_tokens", 0L), json.getLong("reasoning_tokens", 0L));
    }
  }

  /**
   * @param content      the model's text (may be empty when it calls tools)
   * @param toolCalls    {@code [{id, name, arguments}]}, arguments a JSON object
   * @param model        model key that answered (may be a fallback)
   * @param usage        tokens as the provider reported them
   * @param costUsd      price of this call, from {@code models:}
   * @param cached       answered from the response cache
   * @param latencyMs    time spent at the provider
   * @param keyId        which key answered ({@code <provider>/<key id>}, never the secret; "cache" or "sim")
   * @param finishReason {@code stop}, {@code length}, {@code tool_calls}, {@code content_filter} or {@link #CANCELLED}
   */
  public record Reply(String content, JsonArray toolCalls, String model, Usage usage, double costUsd, boolean cached,
                      long latencyMs, String keyId, String finishReason) {

    public long inputTokens() {
      return usage.input();
    }

    public long outputTokens() {
      return usage.output();
    }

    public boolean wantsTools() {
      return toolCalls != null && !toolCalls.isEmpty();
    }

    public boolean cancelled() {
      return CANCELLED.equals(finishReason);
    }

    public JsonObject toJson() {
      return new JsonObject().put("content", content).put("tool_calls", toolCalls == null ? new JsonArray() : toolCalls)
        .put("model", model).put("usage", usage.toJson())
        .put("cost_usd", costUsd).put("cached", cached).put("latency_ms", latencyMs).put("key_id", keyId)
        .put("finish_reason", finishReason);
    }

    public static Reply fromJson(JsonObject json) {
      return new Reply(json.getString("content", ""), json.getJsonArray("tool_calls", new JsonArray()),
        json.getString("model"), Usage.fromJson(json.getJsonObject("usage")),
        json.getDouble("cost_usd", 0.0), json.getBoolean("cached", false), json.getLong("latency_ms", 0L),
        json.getString("key_id"), json.getString("finish_reason", "stop"));
    }
  }
}

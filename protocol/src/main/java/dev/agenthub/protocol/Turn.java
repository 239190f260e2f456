package dev.agenthub.protocol;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.UUID;

/**
 * One user message to an agent instance (gateway to {@code agent.<id>.<instance>}) and its answer.
 * A failed turn answers a {@link Failure}; its kind fixes what the edges answer.
 */
public final class Turn {

  private Turn() {
  }

  /** Event-bus address of one agent instance. */
  public static String address(String agent, String instance) {
    return "agent." + agent + "." + instance;
  }

  /**
   * Header of a message to an instance's address that cancels a turn instead of starting one; the
   * body names the turn: {@code {"session","idempotency_key"}}.
   */
  /** Header of a turn sent again (its node left, or its session moved): the instance continues what it wrote. */
  public static final String RESEND_HEADER = "resend";
  public static final String CANCEL_HEADER = "cancel";

  /** Idempotency keys the gateway makes up for turns that came without one. */
  public static final String GATEWAY_KEY_PREFIX = "gw-";

  /** A session as the hub keys it: {@code <client>/<session>} on a hub with clients, else the session id. */
  public static String sessionKey(String client, String session) {
    return client == null ? session : client + "/" + session;
  }

  /**
   * @param session        session id (validated by the gateway)
   * @param text           the user's message
   * @param idempotencyKey optional client key for retries
   * @param priority       interactive or batch
   * @param hint           {@code routine}, {@code complex} or null: which model the caller wants
   * @param depth          how many {@code agent.delegate} hops led here (0 for a user's message)
   * @param maxTokens      the caller's output cap (0 = the agent's {@code output-tokens}; never above it)
   * @param stop           stop sequences (at most 4)
   * @param conversation   a stateless turn's history ({@code [{role, content}]}: system, user and
   *                       assistant messages before {@code text}); null for a session's turn, whose
   *                       history is its transcript
   * @param stream         where to stream the answer ({@code stream_to} address and stream id), or null
   * @param client         the authenticated API client on whose behalf the turn runs (null on a hub
   *                       without clients): a session belongs to the client that opened it
   * @param resume         a turn that paused for a person's approval, continued with their decision
   *                       ({@link Approval#resume}), or null for a new turn
   * @param tools          the client's own tools, offered to the model next to the agent's ({@code [{type:
   *                       function, function: {name, description?, parameters?}}]}); the hub never runs
   *                       them: a call to one ends the turn with its {@link Reply#toolCalls()}. Null: none
   * @param toolChoice     whether and which tool the model must call (null: {@code auto})
   * @param toolResults    the client's results for the tool calls a previous turn ended with
   *                       ({@code [{tool_call_id, content}]}): the turn continues from them instead of a
   *                       new user message ({@code text} is empty). Null for a turn of a user message
   */
  public record Request(String session, String text, String idempotencyKey, Priority priority, String hint, int depth,
                        int maxTokens, List<String> stop, JsonArray conversation, ModelCall.Stream stream,
                        String client, JsonObject resume, JsonArray tools, ToolChoice toolChoice,
                        JsonArray toolResults) {

    public Request {
      stop = stop == null ? List.of() : List.copyOf(stop);
    }

    /** A turn of {@code text} in {@code session}: interactive, no key, no client; see {@link Builder}. */
    public static Builder of(String session, String text) {
      return new Builder(session, text);
    }

    /** A builder holding this turn, to change some of it. */
    public Builder toBuilder() {
      return new Builder(session, text).idempotencyKey(idempotencyKey).priority(priority).hint(hint).depth(depth)
        .maxTokens(maxTokens).stop(stop).conversation(conversation).stream(stream).client(client).resume(resume)
        .tools(tools).toolChoice(toolChoice).toolResults(toolResults);
    }

    /**
     * The session as the hub keys it: with clients, the same session id from two clients is two
     * sessions ({@code <client>/<session>}), routed, kept and written apart.
     */
    public String sessionKey() {
      return Turn.sessionKey(client, session);
    }

    /**
     * The turn as the hub keys it, {@code <session key>|<idempotency key>}, or null without an
     * idempotency key: the gateway finds a turn on its way by it, an instance the turn it runs (to
     * cancel it) and its first answer (for a retry).
     */
    public String turnKey() {
      return idempotencyKey == null ? null : sessionKey() + "|" + idempotencyKey;
    }

    /** The same turn with a key the gateway made up, unless it has one: every turn can be sent again. */
    public Request withGatewayKey() {
      return idempotencyKey != null ? this : withIdempotencyKey(GATEWAY_KEY_PREFIX + UUID.randomUUID());
    }

    /** Whether the idempotency key is the client's own (kept an hour for its retries), not the gateway's. */
    public boolean clientKey() {
      return idempotencyKey != null && !idempotencyKey.startsWith(GATEWAY_KEY_PREFIX);
    }

    /** The same turn with another idempotency key. */
    public Request withIdempotencyKey(String key) {
      return toBuilder().idempotencyKey(key).build();
    }

    /** A stateless turn keeps nothing: no transcript, no session history. */
    public boolean stateless() {
      return conversation != null;
    }

    /** The turn continues from the client's tool results, not from a user message. */
    public boolean continuation() {
      return toolResults != null;
    }

    /** Whether the client offered tools of its own. */
    public boolean clientTools() {
      return tools != null && !tools.isEmpty();
    }

    public JsonObject toJson() {
      JsonObject json = new JsonObject().put("session", session).put("text", text).put("priority", priority.id())
        .put("depth", depth);
      if (idempotencyKey != null) {
        json.put("idempotency_key", idempotencyKey);
      }
      if (hint != null) {
        json.put("hint", hint);
      }
      if (maxTokens > 0) {
        json.put("max_tokens", maxTokens);
      }
      if (!stop.isEmpty()) {
        json.put("stop", new JsonArray(stop));
      }
      if (conversation != null) {
        json.put("conversation", conversation);
      }
      if (stream != null) {
        json.put("stream", stream.toJson());
      }
      if (client != null) {
        json.put("client", client);
      }
      if (resume != null) {
        json.put("resume", resume);
      }
      if (tools != null) {
        json.put("tools", tools);
      }
      if (toolChoice != null) {
        json.put("tool_choice", toolChoice.toJson());
      }
      if (toolResults != null) {
        json.put("tool_results", toolResults);
      }
      return json;
    }

    public static Request fromJson(JsonObject json) {
      JsonObject stream = json.getJsonObject("stream");
      return of(json.getString("session"), json.getString("text")).idempotencyKey(json.getString("idempotency_key"))
        .priority(Priority.of(json.getString("priority", "interactive"))).hint(json.getString("hint"))
        .depth(json.getInteger("depth", 0)).maxTokens(json.getInteger("max_tokens", 0))
        .stop(json.getJsonArray("stop", new JsonArray()).stream().map(String::valueOf).toList())
        .conversation(json.getJsonArray("conversation"))
        .stream(stream == null ? null : ModelCall.Stream.fromJson(stream)).client(json.getString("client"))
        .resume(json.getJsonObject("resume")).tools(json.getJsonArray("tools"))
        .toolChoice(ToolChoice.fromJson(json.getValue("tool_choice"))).toolResults(json.getJsonArray("tool_results"))
        .build();
    }
  }

  /**
   * Builds a {@link Request} by name, not by position: {@code Turn.Request.of(session, text)
   * .priority(Priority.BATCH).client(client).build()}. Unset: interactive, no idempotency key, no
   * hint, depth 0, no output cap or stop sequences, a session kept (no conversation), no stream, no client,
   * no client tools, tool choice {@code auto}, a user message (no tool results).
   */
  public static final class Builder {
    private final String session;
    private final String text;
    private String idempotencyKey;
    private Priority priority = Priority.INTERACTIVE;
    private String hint;
    private int depth;
    private int maxTokens;
    private List<String> stop = List.of();
    private JsonArray conversation;
    private ModelCall.Stream stream;
    private String client;
    private JsonObject resume;
    private JsonArray tools;
    private ToolChoice toolChoice;
    private JsonArray toolResults;

    private Builder(String session, String text) {
      this.session = session;
      this.text = text;
    }

    /** The client's key for retries (the gateway makes one up when there is none). */
    public Builder idempotencyKey(String key) {
      this.idempotencyKey = key;
      return this;
    }

    public Builder priority(Priority priority) {
      this.priority = priority;
      return this;
    }

    /** The model the caller asks for ({@code routine}, {@code complex}), or null for the router's choice. */
    public Builder hint(String hint) {
      this.hint = hint;
      return this;
    }

    /** How many delegations deep this turn is (0: a client's own). */
    public Builder depth(int depth) {
      this.depth = depth;
      return this;
    }

    /** The output cap of the turn's model calls (0: the agent's own). */
    public Builder maxTokens(int maxTokens) {
      this.maxTokens = maxTokens;
      return this;
    }

    public Builder stop(List<String> stop) {
      this.stop = stop;
      return this;
    }

    /** A stateless turn: the whole conversation comes with it and nothing is kept. */
    public Builder conversation(JsonArray conversation) {
      this.conversation = conversation;
      return this;
    }

    /** Where the answer's deltas go as they are generated, or null. */
    public Builder stream(ModelCall.Stream stream) {
      this.stream = stream;
      return this;
    }

    /** The API client the turn is on behalf of, or null without clients. */
    public Builder client(String client) {
      this.client = client;
      return this;
    }

    /** A paused turn continued with a person's decision ({@link Approval#resume}). */
    public Builder resume(JsonObject resume) {
      this.resume = resume;
      return this;
    }

    /** The client's own tools ({@code [{type: function, function}]}), or null. */
    public Builder tools(JsonArray tools) {
      this.tools = tools;
      return this;
    }

    /** Whether and which tool the model must call; null for {@code auto}. */
    public Builder toolChoice(ToolChoice toolChoice) {
      this.toolChoice = toolChoice;
      return this;
    }

    /** The client's results for the tool calls the last turn ended with ({@code [{tool_call_id, content}]}). */
    public Builder toolResults(JsonArray toolResults) {
      this.toolResults = toolResults;
      return this;
    }

    public Request build() {
      return new Request(session, text, idempotencyKey, priority, hint, depth, maxTokens, stop, conversation, stream,
        client, resume, tools, toolChoice, toolResults);
    }
  }

  /**
   * Local address on every node where an agent asks another agent ({@code agent.delegate}): body
   * {@code {agent, session, text, depth}}, answered with the other agent's {@link Reply}. The hub
   * routes it like a user's message, so the target may run on any node.
   */
  public static final String DELEGATE_ADDRESS = "hub.delegate";

  /**
   * The answer, in the shape of the HTTP contract's 200 body.
   *
   * @param finishReason why the answer ended: {@code stop}, {@code length} (the output cap),
   *                     {@code content_filter}, {@code cancelled}, {@code tool_calls} (the model called
   *                     the client's own tools: {@code toolCalls} says which), or {@value Approval#FINISH}
   *                     (the turn waits for a person's approval: {@code approval} says of what)
   * @param approval     the approval the turn waits for ({@link Approval#shown}), or null
   * @param toolCalls    the calls of the client's own tools the turn ended with, in OpenAI's shape
   *                     ({@code [{id, type: function, function: {name, arguments}}]}, arguments a JSON
   *                     string); null when there are none
   */
  public record Reply(String agent, String session, String instance, String node, String reply, String model,
                      ModelCall.Usage usage, double costUsd, boolean cached, String finishReason,
                      JsonObject approval, JsonArray toolCalls) {

    /** An answer that neither waits for an approval nor calls the client's tools. */
    public Reply(String agent, String session, String instance, String node, String reply, String model,
                 ModelCall.Usage usage, double costUsd, boolean cached, String finishReason) {
      this(agent, session, instance, node, reply, model, usage, costUsd, cached, finishReason, null, null);
    }

    /** A turn that waits for {@code approval}. */
    public Reply(String agent, String session, String instance, String node, String reply, String model,
                 ModelCall.Usage usage, double costUsd, boolean cached, String finishReason, JsonObject approval) {
      this(agent, session, instance, node, reply, model, usage, costUsd, cached, finishReason, approval, null);
    }

    /** Whether the turn paused for a person's approval (HTTP 202). */
    public boolean waiting() {
      return approval != null;
    }

    public long inputTokens() {
      return usage.input();
    }

    public long outputTokens() {
      return usage.output();
    }

    public JsonObject toJson() {
      JsonObject json = new JsonObject()
        .put("agent", agent).put("session", session).put("instance", instance).put("node", node)
        .put("reply", reply).put("model", model)
        .put("usage", usage.toJson())
        .put("cost_usd", costUsd).put("cached", cached).put("finish_reason", finishReason);
      if (approval != null) {
        json.put("status", Approval.STATUS).put("approval", approval);
      }
      if (toolCalls != null && !toolCalls.isEmpty()) {
        json.put("tool_calls", toolCalls);
      }
      return json;
    }

    public static Reply fromJson(JsonObject json) {
      return new Reply(json.getString("agent"), json.getString("session"), json.getString("instance"),
        json.getString("node"), json.getString("reply"), json.getString("model"),
        ModelCall.Usage.fromJson(json.getJsonObject("usage")),
        json.getDouble("cost_usd", 0.0), json.getBoolean("cached", false), json.getString("finish_reason", "stop"),
        json.getJsonObject("approval"), json.getJsonArray("tool_calls"));
    }
  }
}

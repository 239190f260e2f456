package dev.agenthub.agents;

import dev.agenthub.memory.MemoryClient;
import dev.agenthub.memory.MemoryException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * One turn of one session: the user's message goes into the transcript, the context is assembled
 * (system prompt from the agent's files, the session's history trimmed to the token budget), the
 * router picks the model, tool calls run through the skill policy for at most {@code tool-steps}
 * rounds, and the answer goes into the transcript before it is returned. Runs on its agent's context.
 */
final class TurnRunner {

  /** A turn that ran past {@code limits.turn-timeout}. */
  static final class TurnTimeout extends RuntimeException {
    TurnTimeout(long ms) {
      super("the turn took longer than " + ms + " ms", null, false, false);
    }
  }

  static final long BATCH_TIMEOUT_MS = 3_600_000;
  private final Vertx vertx;
  private final AgentSpec spec;
  private final String instance;
  private final String node;
  private final MemoryClient memory;
  private final Skills skills;
  private final ContextSource context;
  private final SessionHistory history;
  private final AgentEvents events;
  private final String token;

  TurnRunner(Vertx vertx, AgentSpec spec, String instance, String node, MemoryClient memory, Skills skills,
             ContextSource context, SessionHistory history, AgentEvents events, String token) {
    this.token = token;
    this.vertx = vertx;
    this.spec = spec;
    this.instance = instance;
    this.node = node;
    this.memory = memory;
    this.skills = skills;
    this.context = context;
    this.history = history;
    this.events = events;
  }

  /** Usage summed over the model calls of one turn. */
  private static final class Usage {
    long input;
    long output;
    double cost;
    boolean cached = true;
    String model;

    void add(ModelCall.Reply r) {
      input += r.inputTokens();
      output += r.outputTokens();
      cost += r.costUsd();
      cached &= r.cached();
      model = r.model();
    }
  }

  Future<Turn.Reply> run(Turn.Request request) {
    // a batch turn waits for the provider's batch window, not for a user
    long timeout = "batch".equals(request.priority()) ? Math.max(spec.limits().turnTimeoutMs(), BATCH_TIMEOUT_MS)
      : spec.limits().turnTimeoutMs();
    long deadline = System.nanoTime() + timeout * 1_000_000;
    String transcript = Transcript.path(spec.id(), request.session());
    Usage usage = new Usage();
    ModelRouter.Route route = ModelRouter.route(request.text(), request.hint());
    return loadHistory(request.session())
      .compose(v -> memory.append(transcript, "user", request.text()))
      .compose(v -> context.systemPrompt())
      .compose(system -> {
        JsonArray messages = new JsonArray().add(ContextSource.message("system", system));
        int budget = spec.limits().contextTokens() - Tokens.estimate(system) - Tokens.estimate(request.text());
        history.recent(request.session(), Math.max(0, budget)).forEach(messages::add);
        messages.add(ContextSource.message("user", request.text()));
        Skills.Call call = new Skills.Call(request.session(), request.depth(), deadline);
        return converse(messages, route, usage, call, transcript, 0, request.priority());
      })
      .compose(answer -> memory.append(transcript, "assistant", answer.isBlank() ? "(no answer)" : answer).map(v -> {
        history.add(request.session(), "user", request.text());
        history.add(request.session(), "assistant", answer);
        return new Turn.Reply(spec.id(), request.session(), instance, node, answer, usage.model, usage.input,
          usage.output, usage.cost, usage.input > 0 && usage.cached);
      }));
  }

  private Future<String> converse(JsonArray messages, ModelRouter.Route route, Usage usage, Skills.Call call,
                                  String transcript, int step, String priority) {
    boolean toolsLeft = step < spec.limits().toolSteps();
    JsonArray tools = toolsLeft ? skills.tools() : new JsonArray();
    return model(messages, tools, route, call, priority, step == 0).compose(result -> {
      ModelCall.Reply reply = result.reply();
      usage.add(reply);
      if (!reply.wantsTools() || !toolsLeft) {
        return Future.succeededFuture(reply.content() == null ? "" : reply.content());
      }
      JsonArray calls = new JsonArray();
      for (int i = 0; i < reply.toolCalls().size(); i++) {
        JsonObject c = reply.toolCalls().getJsonObject(i);
        calls.add(new JsonObject().put("id", c.getString("id")).put("type", "function").put("function",
          new JsonObject().put("name", c.getString("name")).put("arguments", args(c).encode())));
      }
      messages.add(new JsonObject().put("role", "assistant").putNull("content").put("tool_calls", calls));
      return runTools(reply.toolCalls(), 0, messages, call, transcript)
        .compose(v -> converse(messages, result.route(), usage, call, transcript, step + 1, priority));
    });
  }

  private Future<Void> runTools(JsonArray toolCalls, int i, JsonArray messages, Skills.Call call, String transcript) {
    if (i >= toolCalls.size()) {
      return Future.succeededFuture();
    }
    JsonObject c = toolCalls.getJsonObject(i);
    String name = c.getString("name");
    JsonObject args = args(c);
    return skills.run(name, args, call).compose(result -> {
      messages.add(new JsonObject().put("role", "tool").put("tool_call_id", c.getString("id")).put("content", result));
      String step = name + " " + args.encode() + "\n\n" + result;
      return memory.append(transcript, "tool", step).<Void>mapEmpty();
    }).compose(v -> runTools(toolCalls, i + 1, messages, call, transcript));
  }

  private record Routed(ModelCall.Reply reply, ModelRouter.Route route) {
  }

  /** One model call; a failed routine call is retried once on the complex model. */
  private Future<Routed> model(JsonArray messages, JsonArray tools, ModelRouter.Route route, Skills.Call call,
                               String priority, boolean first) {
    if (first) {
      events.route(spec.id(), route == ModelRouter.Route.COMPLEX ? "complex" : "routine");
    }
    String model = route == ModelRouter.Route.ROUTINE ? spec.routineModel() : spec.complexModel();
    return ask(model, messages, tools, call, priority).map(r -> new Routed(r, route)).recover(err -> {
      boolean canEscalate = route == ModelRouter.Route.ROUTINE && !spec.complexModel().equals(spec.routineModel())
        && !(err instanceof TurnTimeout);
      if (!canEscalate) {
        return Future.failedFuture(err);
      }
      events.route(spec.id(), "escalated");
      return ask(spec.complexModel(), messages, tools, call, priority)
        .map(r -> new Routed(r, ModelRouter.Route.ESCALATED));
    });
  }

  private Future<ModelCall.Reply> ask(String model, JsonArray messages, JsonArray tools, Skills.Call call,
                                      String priority) {
    long remaining = (call.deadlineNanos() - System.nanoTime()) / 1_000_000;
    if (remaining <= 0) {
      return Future.failedFuture(new TurnTimeout(spec.limits().turnTimeoutMs()));
    }
    ModelCall.Request request = new ModelCall.Request(spec.id(), model, messages.copy(), tools,
      spec.limits().outputTokens(), priority, token);
    return vertx.eventBus().<JsonObject>request(ModelCall.ADDRESS, request.toJson(),
        new DeliveryOptions().setSendTimeout(remaining).addHeader("timeout", Long.toString(remaining)))
      .map(m -> ModelCall.Reply.fromJson(m.body()))
      .recover(err -> err instanceof ReplyException re && re.failureType() == ReplyFailure.TIMEOUT
        ? Future.failedFuture(new TurnTimeout(spec.limits().turnTimeoutMs())) : Future.failedFuture(err));
  }

  private Future<Void> loadHistory(String session) {
    if (history.has(session)) {
      return Future.succeededFuture();
    }
    return memory.read(Transcript.path(spec.id(), session))
      .map(Transcript::parse)
      .recover(err -> err instanceof MemoryException e && e.kind() == MemoryException.Kind.NOT_FOUND
        ? Future.succeededFuture(new JsonArray()) : Future.failedFuture(err))
      .map(messages -> {
        if (!history.has(session)) {
          history.put(session, messages);
        }
        return null;
      });
  }

  private static JsonObject args(JsonObject toolCall) {
    Object a = toolCall.getValue("arguments");
    if (a instanceof JsonObject o) {
      return o;
    }
    if (a instanceof String s) {
      try {
        return new JsonObject(s);
      } catch (RuntimeException e) {
        return new JsonObject().put("raw", s);
      }
    }
    return new JsonObject();
  }
}

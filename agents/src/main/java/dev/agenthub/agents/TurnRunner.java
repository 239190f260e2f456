package dev.agenthub.agents;

import dev.agenthub.memory.MemoryClient;
import dev.agenthub.memory.MemoryLayout;
import dev.agenthub.protocol.AgentEvents;
import dev.agenthub.protocol.Approval;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.Priority;
import dev.agenthub.protocol.TokenCounter;
import dev.agenthub.protocol.Tokens;
import dev.agenthub.protocol.ToolChoice;
import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;

/**
 * One turn of one session: the user's message goes into the transcript, the context is assembled
 * (system prompt from the agent's files, the session's history trimmed to the token budget), the
 * router picks the model, tool calls run through the skill policy for at most {@code tool-steps}
 * rounds, and the answer goes into the transcript before it is returned. A stateless turn brings its
 * own history and writes nothing. The answer is the text of every round, so a streamed turn's client
 * sees exactly what the transcript keeps. A step that calls the client's own tools ends the turn with
 * those calls, and the client's next turn brings their results instead of a user message
 * ({@link ClientTools}). Runs on its agent's context.
 */
final class TurnRunner {

  /** A turn that ran past {@code limits.turn-timeout}. */
  static final class TurnTimeout extends RuntimeException {
    TurnTimeout(long ms) {
      super("the turn took longer than " + ms + " ms", null, false, false);
    }
  }

  /**
   * A turn whose answer an earlier owner wrote before it died: the reply is that answer (and the
   * client's tool calls it ended with, or null).
   */
  private static final class AlreadyAnswered extends RuntimeException {
    final String answer;
    final JsonArray toolCalls;

    AlreadyAnswered(String answer, JsonArray toolCalls) {
      super("answered already", null, false, false);
      this.answer = answer;
      this.toolCalls = toolCalls;
    }
  }

  /** A turn cancelled before it started. */
  static final class Cancelled extends RuntimeException {
    Cancelled() {
      super("the turn was cancelled", null, false, false);
    }
  }

  static final long BATCH_TIMEOUT_MS = 3_600_000;
  /** Between the texts of two rounds of one answer (a tool round's words, then the final answer). */
  static final String ROUND_SEPARATOR = "\n\n";
  static final String INTERRUPTED = "[interrupted: the client closed the stream]";
  private final Vertx vertx;
  private final AgentSpec spec;
  private final String instance;
  private final String node;
  private final MemoryClient memory;
  private final Skills skills;
  private final ContextSource context;
  private final SessionHistory history;
  private final AgentEvents events;
  private final MessageAuth.Signer signer;
  private final Function<String, TokenCounter> counters;
  private final Approvals approvals;

  TurnRunner(Vertx vertx, AgentSpec spec, String instance, String node, MemoryClient memory, Skills skills,
             ContextSource context, SessionHistory history, AgentEvents events, MessageAuth.Signer signer,
             Function<String, TokenCounter> counters) {
    this.signer = signer;
    this.vertx = vertx;
    this.spec = spec;
    this.instance = instance;
    this.node = node;
    this.memory = memory;
    this.skills = skills;
    this.context = context;
    this.history = history;
    this.events = events;
    this.counters = counters;
    this.approvals = new Approvals(vertx, spec);
  }

  /** What one turn accumulates over its model calls. */
  private static final class Progress {
    final StringBuilder answer = new StringBuilder();
    ModelCall.Usage usage = ModelCall.Usage.NONE;
    /** Tokens of the messages the model is sent, counted as the context was built and as it grows. */
    int promptTokens;
    double cost;
    boolean cached = true;
    String model;
    String finishReason = "stop";
    /** The step that called the client's tools (the turn ends with it), its client calls and the agent's results. */
    JsonObject step;
    JsonArray clientCalls;
    List<JsonObject> agentResults;

    void add(ModelCall.Reply r) {
      usage = usage.plus(r.usage());
      cost += r.costUsd();
      cached &= r.cached();
      model = r.model();
      finishReason = r.finishReason();
    }
  }

  /**
   * Everything one turn needs beyond its request; {@code userWritten}: its first entries (the user
   * message, or the client's tool results) are durable; {@code clientTools}: the client's own tools
   * (null: none), {@code clientNames} their names.
   */
  private record Call(Turn.Request request, Skills.Call skills, TurnControl control, int maxTokens, String transcript,
                      Future<Void> userWritten, String[] claim, JsonArray clientTools, Set<String> clientNames) {
    Call(Turn.Request request, Skills.Call skills, TurnControl control, int maxTokens, String transcript,
         Future<Void> userWritten, String[] claim, JsonArray clientTools) {
      this(request, skills, control, maxTokens, transcript, userWritten, claim, clientTools, ClientTools.names(clientTools));
    }
  }

  Future<Turn.Reply> run(Turn.Request request, TurnControl control) {
    return run(request, control, false);
  }

  /**
   * @param resent the turn was sent again after the node running it died: it first learns whether it
   *               continues a turn begun there (its user entry written, maybe its answer too)
   */
  Future<Turn.Reply> run(Turn.Request request, TurnControl control, boolean resent) {
    if (control.cancelled()) {
      return Future.failedFuture(new Cancelled());
    }
    if (request.resume() != null) {
      return resume(request, control);
    }
    // a batch turn waits for the provider's batch window, not for a user
    long timeout = request.priority() == Priority.BATCH ? Math.max(spec.limits().turnTimeoutMs(), BATCH_TIMEOUT_MS)
      : spec.limits().turnTimeoutMs();
    long deadline = System.nanoTime() + timeout * 1_000_000;
    int maxTokens = request.maxTokens() > 0 ? Math.min(request.maxTokens(), spec.limits().outputTokens())
      : spec.limits().outputTokens();
    String session = request.sessionKey();
    String transcript = request.stateless() ? null : MemoryLayout.transcript(spec.id(), session);
    // the user entry must be durable before any later entry of the turn, not before the model starts:
    // a first turn writes it while the model works; a resent one waits (it may continue a dangling turn)
    Promise<Void> userWritten = Promise.promise();
    Call call = new Call(request, new Skills.Call(request.session(), request.depth(), deadline, request.client(), control),
      control, maxTokens, transcript, userWritten.future(), new String[1], request.tools());
    Progress progress = new Progress();
    ModelRouter.Route route = ModelRouter.route(request.text(), request.hint());
    TokenCounter counter = counters.apply(route == ModelRouter.Route.COMPLEX ? spec.complexModel() : spec.routineModel());
    // a turn sent again after its node died finds its user entry written already (same write id):
    // it is continued, not asked twice; if its answer was written too, that answer is the reply
    String[] answered = {null};
    // the client's tools may not take the name of one of the agent's: checked before anything is written
    Future<Void> checked = request.clientTools()
      ? skills.tools().map(tools -> ClientTools.offered(request.tools(), tools)).mapEmpty() : Future.succeededFuture();
    Future<Void> before;
    if (request.stateless()) {
      userWritten.complete();
      before = checked;
    } else if (request.continuation()) {
      before = checked.compose(v -> loadHistory(call)).compose(v -> continueWithResults(call, resent, userWritten));
    } else {
      before = checked.compose(v -> loadHistory(call)).compose(v -> {
        waitingForResults(call, resent);
        Future<Void> written = append(call, "user", request.text(), writeId(request, "user"))
          .map(w -> {
            if (w.getBoolean("duplicate", false)) {
              answered[0] = history.takeDangling(session, request.text());
            }
            return (Void) null;
          });
        written.onComplete(userWritten);
        // a turn sent again (by the gateway, or by a client with its idempotency key after a node
        // died) learns from its user write whether it continues a dangling turn before the model
        // sees the history; any other turn lets the model start while the entry is written
        boolean mayContinue = resent || history.endsWithQuestion(session, request.text());
        return mayContinue ? written : Future.succeededFuture();
      });
    }
    return before
      .compose(v -> {
        if (answered[0] != null) {
          history.add(session, "user", request.text());
          history.add(session, "assistant", answered[0]);
          return Future.failedFuture(new AlreadyAnswered(answered[0], null));
        }
        return Future.<Void>succeededFuture();
      })
      .compose(v -> context.systemPrompt())
      .compose(system -> {
        JsonArray messages = context(system, request, counter, progress);
        return converse(messages, route, progress, call, 0);
      })
      .compose(v -> {
        if (progress.clientCalls != null) {
          return recordStep(call, progress, true);
        }
        String answer = progress.answer.toString();
        if (progress.finishReason.equals(ModelCall.CANCELLED)) {
          answer = answer.isEmpty() ? INTERRUPTED : answer + ROUND_SEPARATOR + INTERRUPTED;
        }
        return record(call, answer);
      })
      .map(answer -> new Turn.Reply(spec.id(), request.session(), instance, node, progress.answer.toString(),
        progress.model, progress.usage, progress.cost, progress.usage.input() > 0 && progress.cached,
        progress.finishReason, null, progress.clientCalls))
      .recover(err -> {
        if (err instanceof AlreadyAnswered done) {
          return Future.succeededFuture(new Turn.Reply(spec.id(), request.session(), instance, node, done.answer,
            null, ModelCall.Usage.NONE, 0, false, done.toolCalls == null ? "stop" : "tool_calls", null, done.toolCalls));
        }
        return err instanceof Approvals.Paused paused ? pause(call, paused, route, progress) : Future.failedFuture(err);
      });
  }

  /**
   * A turn of a user message in a session that waits for the results of the client's tool calls is
   * refused (400), unless it is this very turn sent again after its step was written: then the reply
   * is that step's calls.
   */
  private void waitingForResults(Call call, boolean resent) {
    String session = call.request().sessionKey();
    JsonArray past = history.messages(session);
    JsonArray waiting = ClientTools.waiting(past);
    if (waiting.isEmpty()) {
      return;
    }
    ClientTools.Tail tail = ClientTools.tail(past);
    boolean repeat = resent || call.request().clientKey();
    if (repeat && call.request().text().equals(ClientTools.question(past, tail))) {
      throw new AlreadyAnswered(tail.step().getString("content") == null ? "" : tail.step().getString("content"),
        waiting);
    }
    throw ClientTools.stillWaiting(waiting);
  }

  /**
   * A turn of the client's tool results: checked against the calls the session waits for (400 when
   * they do not answer exactly those), then written; a turn sent again takes back what it wrote before,
   * and answers with its answer if that was written too.
   */
  private Future<Void> continueWithResults(Call call, boolean resent, Promise<Void> written) {
    String session = call.request().sessionKey();
    ClientTools.Continuing found = ClientTools.continuing(history.messages(session), call.request().toolResults(),
      resent || call.request().clientKey());
    history.dropLast(session, found.written());
    Future<Void> results = writeResults(call, 0);
    results.onComplete(written);
    if (found.answer() != null) {
      return results.compose(v -> {
        ClientTools.messages(call.request().toolResults()).forEach(m -> history.add(session, (JsonObject) m));
        history.add(session, "assistant", found.answer());
        return Future.failedFuture(new AlreadyAnswered(found.answer(), null));
      });
    }
    return found.written() > 0 ? results : Future.succeededFuture();
  }

  private Future<Void> writeResults(Call call, int i) {
    JsonArray results = call.request().toolResults();
    if (i >= results.size()) {
      return Future.succeededFuture();
    }
    JsonObject r = results.getJsonObject(i);
    return append(call, ClientTools.RESULT_ENTRY, ClientTools.resultEntry(r),
      writeId(call.request(), "result-" + r.getString("tool_call_id"))).compose(v -> writeResults(call, i + 1));
  }

  /**
   * The model's messages: the agent's own system prompt; for a stateless turn its caller's system
   * messages after it, then the caller's history; for a session, its history from the transcript;
   * the history trimmed from the oldest so the whole fits {@code context-tokens} (never starting with
   * tool results whose call was trimmed away); then the user's message, or the client's tool results.
   */
  private JsonArray context(String system, Turn.Request request, TokenCounter counter, Progress progress) {
    JsonArray messages = new JsonArray().add(ContextSource.message("system", system));
    int systemTokens = systemTokens(system, counter);
    JsonArray news = request.continuation() ? ClientTools.messages(request.toolResults())
      : new JsonArray().add(ContextSource.message("user", request.text()));
    int userTokens = 0;
    for (int i = 0; i < news.size(); i++) {
      userTokens += counter.countMessage(news.getJsonObject(i));
    }
    int budget = spec.limits().contextTokens() - systemTokens - userTokens - 6;
    int used = systemTokens + userTokens + 3;
    JsonArray past;
    if (request.stateless()) {
      JsonArray dialogue = new JsonArray();
      for (int i = 0; i < request.conversation().size(); i++) {
        JsonObject m = request.conversation().getJsonObject(i);
        if ("system".equals(m.getString("role"))) {
          messages.add(ContextSource.message("system", m.getString("content", "")));
          int tokens = counter.countMessage(m);
          budget -= tokens;
          used += tokens;
        } else {
          dialogue.add(m);
        }
      }
      past = trimmed(dialogue, Math.max(0, budget), counter);
      for (int i = 0; i < past.size(); i++) {
        used += counter.countMessage(past.getJsonObject(i));
      }
    } else {
      SessionHistory.Recent recent = history.recentWithTokens(request.sessionKey(), Math.max(0, budget), counter);
      past = recent.messages();
      used += recent.tokens();
    }
    int orphans = ClientTools.orphans(past);
    for (int i = 0; i < past.size(); i++) {
      if (i < orphans) {
        used -= counter.countMessage(past.getJsonObject(i));
      } else {
        messages.add(past.getJsonObject(i));
      }
    }
    if (request.continuation() && !ClientTools.endsWithStep(messages)) {
      throw Failure.badParam("messages", "the tool calls these results answer do not fit the agent's context-tokens");
    }
    news.forEach(messages::add);
    progress.promptTokens = used;
    return messages;
  }

  // the system prompt is rebuilt only when its files change: count it once per text
  private String countedSystem;
  private TokenCounter systemCounter;
  private int systemCount;

  private int systemTokens(String system, TokenCounter counter) {
    if (system != countedSystem || counter != systemCounter) {
      countedSystem = system;
      systemCounter = counter;
      systemCount = counter.count(system) + 3;
    }
    return systemCount;
  }

  // the tools are the same array for every call of this agent
  private JsonArray countedTools;
  private TokenCounter toolsCounter;
  private int toolsCount;

  private int toolTokens(JsonArray tools, TokenCounter counter) {
    if (tools.isEmpty()) {
      return 0;
    }
    if (tools != countedTools || counter != toolsCounter) {
      countedTools = tools;
      toolsCounter = counter;
      toolsCount = counter.count(tools.encode());
    }
    return toolsCount;
  }

  /** The newest messages of {@code dialogue} that fit {@code budget} tokens, oldest first. */
  static JsonArray trimmed(JsonArray dialogue, int budget, TokenCounter counter) {
    int from = dialogue.size();
    int left = budget;
    while (from > 0) {
      int cost = counter.countMessage(dialogue.getJsonObject(from - 1));
      if (cost > left) {
        break;
      }
      left -= cost;
      from--;
    }
    JsonArray out = new JsonArray();
    for (int i = from; i < dialogue.size(); i++) {
      out.add(dialogue.getJsonObject(i));
    }
    return out;
  }

  /**
   * The write id of one transcript entry of a turn: derived from the turn's idempotency key (the
   * client's, or the one the gateway gave it), so a turn sent again after its node died writes each
   * entry once. A turn without a key gets a random id.
   */
  static String writeId(Turn.Request request, String entry) {
    return request.idempotencyKey() == null ? UUID.randomUUID().toString()
      : "turn:" + request.sessionKey() + ":" + request.idempotencyKey() + ":" + entry;
  }

  private Future<String> record(Call call, String answer) {
    if (call.transcript() == null) {
      return Future.succeededFuture(answer);
    }
    return call.userWritten().compose(w -> append(call, "assistant",
      answer.isBlank() ? "(no answer)" : answer, writeId(call.request(), "assistant"))).map(v -> {
      addTurnStart(call);
      history.add(call.request().sessionKey(), "assistant", answer);
      return answer;
    });
  }

  /**
   * A turn that ends with the client's tool calls: the step (the whole answer's text, every call of
   * the step, the agent's own results) is the turn's answer entry, under the answer's write id.
   * {@code withStart}: the turn's user message (or results) goes into the history too (a resumed turn's
   * went in when it paused).
   */
  private Future<String> recordStep(Call call, Progress progress, boolean withStart) {
    String answer = progress.answer.toString();
    JsonObject step = progress.step.copy();
    if (answer.isEmpty()) {
      step.putNull("content");
    } else {
      step.put("content", answer);
    }
    if (call.transcript() == null) {
      return Future.succeededFuture(answer);
    }
    return call.userWritten().compose(w -> append(call, ClientTools.STEP_ENTRY,
      ClientTools.stepEntry(step, progress.agentResults), writeId(call.request(), "assistant"))).map(v -> {
      if (withStart) {
        addTurnStart(call);
      }
      String session = call.request().sessionKey();
      history.add(session, step);
      progress.agentResults.forEach(r -> history.add(session, r));
      return answer;
    });
  }

  /** The turn's first messages into the history once its answer is written: the user's, or the client's results. */
  private void addTurnStart(Call call) {
    String session = call.request().sessionKey();
    if (call.request().continuation()) {
      ClientTools.messages(call.request().toolResults()).forEach(m -> history.add(session, (JsonObject) m));
    } else {
      history.add(session, "user", call.request().text());
    }
  }

  private Future<Void> converse(JsonArray messages, ModelRouter.Route route, Progress progress, Call call, int step) {
    boolean toolsLeft = step < spec.limits().toolSteps() && !call.control().cancelled();
    Future<JsonArray> offered = toolsLeft ? skills.tools().map(t -> ClientTools.offered(call.clientTools(), t))
      : Future.succeededFuture(new JsonArray());
    // the client's tool choice binds the turn's first model call; the agent's own tool steps after it are free
    ToolChoice choice = step == 0 ? call.request().toolChoice() : null;
    return offered.compose(tools -> model(messages, tools, choice, route, call, progress, step == 0)).compose(result -> {
      ModelCall.Reply reply = result.reply();
      progress.add(reply);
      String text = reply.content() == null ? "" : reply.content();
      if (!text.isEmpty()) {
        if (!progress.answer.isEmpty()) {
          progress.answer.append(ROUND_SEPARATOR);
        }
        progress.answer.append(text);
      }
      if (!reply.wantsTools() || !toolsLeft || reply.cancelled()) {
        return Future.succeededFuture();
      }
      // every call goes into the step; the agent's own run here, the client's end the turn
      JsonArray calls = new JsonArray();
      JsonArray agentCalls = new JsonArray();
      JsonArray clientCalls = new JsonArray();
      for (int i = 0; i < reply.toolCalls().size(); i++) {
        JsonObject c = reply.toolCalls().getJsonObject(i);
        String clientTool = ClientTools.clientTool(call.clientNames(), c.getString("name"));
        JsonObject openAi = ClientTools.call(c.getString("id"), clientTool == null ? c.getString("name") : clientTool,
          args(c));
        calls.add(openAi);
        if (clientTool == null) {
          agentCalls.add(c);
        } else {
          clientCalls.add(openAi);
        }
      }
      JsonObject assistant = new JsonObject().put("role", "assistant").put("tool_calls", calls);
      if (text.isEmpty()) {
        assistant.putNull("content");
      } else {
        assistant.put("content", text);
      }
      messages.add(assistant);
      TokenCounter counter = counters.apply(reply.model() == null ? spec.routineModel() : reply.model());
      progress.promptTokens += counter.countMessage(assistant);
      int before = messages.size();
      return runTools(agentCalls, 0, messages, call, step)
        // a pause for approval keeps the client's calls of the step: the resumed turn ends with them
        .recover(err -> Future.failedFuture(err instanceof Approvals.Paused p && !clientCalls.isEmpty()
          ? p.withClientCalls(clientCalls) : err))
        .onSuccess(v -> {
          for (int i = before; i < messages.size(); i++) {
            progress.promptTokens += counter.countMessage(messages.getJsonObject(i));
          }
        })
        .compose(v -> {
          if (clientCalls.isEmpty()) {
            return converse(messages, result.route(), progress, call, step + 1);
          }
          progress.step = assistant;
          progress.clientCalls = clientCalls;
          progress.agentResults = new ArrayList<>();
          for (int i = before; i < messages.size(); i++) {
            progress.agentResults.add(messages.getJsonObject(i));
          }
          progress.finishReason = "tool_calls";
          return Future.succeededFuture();
        });
    });
  }

  private Future<Void> runTools(JsonArray toolCalls, int i, JsonArray messages, Call call, int step) {
    if (i >= toolCalls.size()) {
      return Future.succeededFuture();
    }
    JsonObject c = toolCalls.getJsonObject(i);
    String name = c.getString("name");
    JsonObject args = args(c);
    return skills.run(name, args, call.skills()).recover(err -> {
      if (err instanceof Skills.ApprovalRequired waits) {
        // the turn stops here until a person decides: this call and the step's later ones wait with it
        JsonArray later = new JsonArray();
        for (int j = i + 1; j < toolCalls.size(); j++) {
          later.add(toolCalls.getJsonObject(j));
        }
        return Future.failedFuture(new Approvals.Paused(c, later, messages, waits.timeoutMs, step));
      }
      return Future.failedFuture(err);
    }).compose(result -> toolResult(c, name, args, result, messages, call))
      .compose(v -> runTools(toolCalls, i + 1, messages, call, step));
  }

  /** A tool's result into the conversation and, for a session, the transcript. */
  private Future<Void> toolResult(JsonObject c, String name, JsonObject args, String result, JsonArray messages,
                                  Call call) {
    messages.add(new JsonObject().put("role", "tool").put("tool_call_id", c.getString("id")).put("content", result));
    if (call.transcript() == null) {
      return Future.succeededFuture();
    }
    String step = name + " " + args.encode() + "\n\n" + result;
    return call.userWritten().compose(w -> append(call, "tool", step,
      writeId(call.request(), "tool-" + c.getString("id")))).mapEmpty();
  }

  /**
   * The turn paused before a call that waits for approval: the pause is kept (map and transcript)
   * and the turn answers with what waits.
   */
  private Future<Turn.Reply> pause(Call call, Approvals.Paused paused, ModelRouter.Route route, Progress progress) {
    Turn.Request request = call.request();
    return approvals.keep(request, paused, route.name(), args(paused.toolCall), call.clientTools()).compose(pending -> {
      JsonObject shown = Approval.shown(pending);
      Future<Void> written = call.transcript() == null ? Future.succeededFuture()
        : call.userWritten().compose(w -> append(call, "approval", "waiting: " + shown.encode(),
          writeId(request, "approval-" + paused.toolCall.getString("id")))).<Void>mapEmpty();
      return written.map(v -> {
        events.skill(spec.id(), paused.toolCall.getString("name"), "approval_required");
        if (call.transcript() != null) {
          addTurnStart(call);
        }
        return new Turn.Reply(spec.id(), request.session(), instance, node, progress.answer.toString(), progress.model,
          progress.usage, progress.cost, false, Approval.FINISH, shown);
      });
    });
  }

  /**
   * A paused turn goes on with a person's decision: the waiting call is made (or answered as denied),
   * then the step's later calls, then the conversation as before; the answer is the turn's answer.
   */
  private Future<Turn.Reply> resume(Turn.Request request, TurnControl control) {
    JsonObject pending = request.resume();
    long deadline = System.nanoTime() + spec.limits().turnTimeoutMs() * 1_000_000;
    boolean stateless = pending.getBoolean("stateless", false);
    String transcript = stateless ? null : MemoryLayout.transcript(spec.id(), request.sessionKey());
    Call call = new Call(request, new Skills.Call(request.session(), request.depth(), deadline, request.client(), control),
      control, spec.limits().outputTokens(), transcript, Future.succeededFuture(), new String[1],
      pending.getJsonArray(Approvals.CLIENT_TOOLS));
    Progress progress = new Progress();
    JsonArray messages = pending.getJsonArray("messages", new JsonArray()).copy();
    JsonObject c = new JsonObject().put("id", pending.getString("tool_call_id")).put("name", pending.getString("tool"))
      .put("arguments", pending.getJsonObject("arguments", new JsonObject()));
    String instead = Approvals.instead(pending.getString("decision", Approval.DENY));
    ModelRouter.Route route = ModelRouter.Route.valueOf(pending.getString("route", ModelRouter.Route.ROUTINE.name()));
    int step = pending.getInteger("step", 0);
    Future<Void> claimed = transcript == null ? Future.succeededFuture() : loadHistory(call);
    return claimed
      .compose(v -> instead != null ? Future.succeededFuture(instead)
        : skills.run(c.getString("name"), args(c), call.skills(), true))
      .compose(result -> toolResult(c, c.getString("name"), args(c), result, messages, call))
      .compose(v -> runTools(pending.getJsonArray("later", new JsonArray()), 0, messages, call, step))
      .compose(v -> {
        JsonArray clientCalls = pending.getJsonArray(Approvals.CLIENT_CALLS);
        if (clientCalls == null || clientCalls.isEmpty()) {
          return converse(messages, route, progress, call, step + 1);
        }
        // the paused step called the client's tools too: with the agent's own done, the turn ends with them
        endsWithClientCalls(messages, clientCalls, progress);
        return Future.succeededFuture();
      })
      .compose(v -> {
        if (progress.clientCalls != null) {
          return recordStep(call, progress, false);
        }
        String answer = progress.answer.toString();
        if (transcript == null) {
          return Future.succeededFuture(answer);
        }
        return append(call, "assistant", answer.isBlank() ? "(no answer)" : answer,
          writeId(request, "assistant")).map(w -> {
            history.add(request.sessionKey(), "assistant", answer);
            return answer;
          });
      })
      .map(answer -> new Turn.Reply(spec.id(), request.session(), instance, node, answer, progress.model,
        progress.usage, progress.cost, false, progress.finishReason, null, progress.clientCalls))
      .recover(err -> err instanceof Approvals.Paused again ? pause(call, again, route, progress)
        : Future.failedFuture(err));
  }

  /** The turn ends with the client's calls of the last step in {@code messages}, after the agent's own results. */
  private static void endsWithClientCalls(JsonArray messages, JsonArray clientCalls, Progress progress) {
    int step = messages.size() - 1;
    while (step > 0 && "tool".equals(messages.getJsonObject(step).getString("role"))) {
      step--;
    }
    progress.step = messages.getJsonObject(step);
    progress.clientCalls = clientCalls;
    progress.agentResults = new ArrayList<>();
    for (int i = step + 1; i < messages.size(); i++) {
      progress.agentResults.add(messages.getJsonObject(i));
    }
    progress.finishReason = "tool_calls";
  }

  private record Routed(ModelCall.Reply reply, ModelRouter.Route route) {
  }

  /** One model call; a failed routine call is retried once on the complex model. */
  private Future<Routed> model(JsonArray messages, JsonArray tools, ToolChoice choice, ModelRouter.Route route,
                               Call call, Progress progress, boolean first) {
    if (first) {
      events.route(spec.id(), route == ModelRouter.Route.COMPLEX ? "complex" : "routine");
    }
    String model = route == ModelRouter.Route.ROUTINE ? spec.routineModel() : spec.complexModel();
    return ask(model, messages, tools, choice, call, progress).map(r -> new Routed(r, route)).recover(err -> {
      boolean canEscalate = route == ModelRouter.Route.ROUTINE && !spec.complexModel().equals(spec.routineModel())
        && !(err instanceof TurnTimeout) && !call.control().cancelled() && !streamed(err);
      if (!canEscalate) {
        return Future.failedFuture(err);
      }
      events.route(spec.id(), "escalated");
      return ask(spec.complexModel(), messages, tools, choice, call, progress)
        .map(r -> new Routed(r, ModelRouter.Route.ESCALATED));
    });
  }

  /** A failure after part of the answer reached the client: another model cannot take it back. */
  private static boolean streamed(Throwable err) {
    return err instanceof Failure f && f.kind() == Failure.Kind.STREAM_BROKEN;
  }

  private Future<ModelCall.Reply> ask(String model, JsonArray messages, JsonArray tools, ToolChoice choice, Call call,
                                      Progress progress) {
    long remaining = (call.skills().deadlineNanos() - System.nanoTime()) / 1_000_000;
    if (remaining <= 0) {
      return Future.failedFuture(new TurnTimeout(spec.limits().turnTimeoutMs()));
    }
    if (call.control().cancelled()) {
      // the client went away between two rounds: no further model call on its behalf
      return Future.succeededFuture(new ModelCall.Reply("", null, model, ModelCall.Usage.NONE, 0, false, 0, null,
        ModelCall.CANCELLED));
    }
    ModelCall.Stream stream = null;
    Turn.Request request = call.request();
    if (request.stream() != null) {
      int offset = progress.answer.length();
      if (offset > 0) {
        // the next round's text follows the separator the answer will have
        sendDelta(request.stream(), ROUND_SEPARATOR, offset);
        offset += ROUND_SEPARATOR.length();
      }
      // one model call at a time per turn: the stream id names the call in flight too
      stream = new ModelCall.Stream(request.stream().address(), request.stream().id(), offset);
      call.control().calling(stream.id());
    }
    int inputTokens = progress.promptTokens + toolTokens(tools, counters.apply(model));
    ModelCall.Request req = new ModelCall.Request(spec.id(), model, messages, tools, call.maxTokens(),
      request.priority(), request.stop(), stream, inputTokens, request.client(), tools.isEmpty() ? null : choice);
    // the local governor gets the context by reference: nothing changes it until the reply; signed
    // for the local consumer (principal, address, time, once), not over the context, which it would encode
    return vertx.eventBus().<JsonObject>request(ModelCall.ADDRESS, req.toJson(),
        signer.signLocal(ModelCall.ADDRESS, LocalJson.options().setSendTimeout(remaining)
          .addHeader("timeout", Long.toString(remaining))))
      .map(m -> ModelCall.Reply.fromJson(m.body()))
      .recover(err -> err instanceof ReplyException re && re.failureType() == ReplyFailure.TIMEOUT
        ? Future.failedFuture(new TurnTimeout(spec.limits().turnTimeoutMs())) : Future.failedFuture(err))
      .onComplete(ar -> call.control().calling(null));
  }

  private void sendDelta(ModelCall.Stream stream, String text, int offset) {
    vertx.eventBus().send(stream.address(), new JsonObject().put("text", text), new DeliveryOptions()
      .addHeader(ModelCall.STREAM_ID, stream.id()).addHeader(ModelCall.OFFSET, Integer.toString(offset)));
  }

  /**
   * Brings the session into RAM if it is not there: reads its transcript back, claiming it for this
   * instance (see {@link MemoryClient#claim}); the turn writes under that claim.
   */
  private Future<Void> loadHistory(Call call) {
    String session = call.request().sessionKey();
    if (history.has(session) && history.claim(session) != null) {
      call.claim()[0] = history.claim(session);
      return Future.succeededFuture();
    }
    return memory.claim(call.transcript())
      .map(read -> {
        call.claim()[0] = read.getString("claim");
        history.put(session, Transcript.parse(read.getString("text", "")), read.getString("claim"));
        return null;
      });
  }

  /**
   * Writes a transcript entry under the session's claim. Another instance's newer claim (the session
   * moved) fails the turn and drops the session from RAM, for its history here is no longer the
   * whole story; a claim the writer forgot (it changed) is taken again and the write retried once.
   */
  private Future<JsonObject> append(Call call, String role, String text, String writeId) {
    String session = call.request().sessionKey();
    return memory.append(call.transcript(), role, text, writeId, call.claim()[0]).recover(err -> {
      if (!(err instanceof Failure e)) {
        return Future.failedFuture(err);
      }
      if (e.kind() == Failure.Kind.FENCED) {
        history.forget(session);
        return Future.failedFuture(err);
      }
      if (e.kind() != Failure.Kind.STALE_CLAIM) {
        return Future.failedFuture(err);
      }
      history.forget(session);
      return loadHistory(call).compose(v -> {
        if (call.request().continuation()) {
          // this turn's results written so far, read back
          history.dropLast(session, ClientTools.continuing(history.messages(session), call.request().toolResults(), true)
            .written());
        } else if (!role.equals("user")) {
          history.takeDangling(session, call.request().text()); // this turn's user entry, read back
        }
        return memory.append(call.transcript(), role, text, writeId, call.claim()[0]);
      });
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

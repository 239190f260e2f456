package dev.agenthub.agents;

import dev.agenthub.memory.MemoryAddresses;
import dev.agenthub.memory.MemoryClient;
import dev.agenthub.protocol.AgentEvents;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.LogFields;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.TokenCounter;
import dev.agenthub.protocol.ToolCall;
import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;

import java.util.function.Function;

/**
 * One instance of one agent: an actor on {@code agent.<id>.<instance>}. Turns of a session run one
 * at a time in arrival order; sessions run concurrently up to the agent's limits. A retried message
 * (same idempotency key) gets the first answer. Idle sessions leave RAM; their state is the
 * transcript in shared memory. The verticle wires its parts: {@link IncomingTurns} reads what a message
 * asks, {@link FirstAnswers} answers retries, {@link RunningTurns} cancels, {@link SessionMailboxes}
 * queues, {@link TurnRunner} runs a turn (see there what a turn does), {@link TurnFailures} says what
 * a failed one answers; and {@link Heartbeat}.
 */
public final class AgentVerticle extends VerticleBase {

  private static final int HISTORY_SESSIONS = 2_000;
  private static final int HISTORY_MESSAGES = 40;
  private static final int IDEMPOTENCY_KEYS = 10_000;
  private static final long MEMORY_TIMEOUT_MS = 15_000;
  private static final long ANSWER_TTL_MS = 3_600_000;

  private final AgentSpec spec;
  private final String instance;
  private final String node;
  private final AgentEvents events;
  private final MessageAuth.Signer signer;
  private final Function<String, TokenCounter> counters;
  private final IncomingTurns intake;
  private final SessionMailboxes mailboxes;
  private final RunningTurns running = new RunningTurns();
  private FirstAnswers answers;
  private TurnRunner runner;
  private ContextSource context;
  private Heartbeat heartbeat;
  private MessageConsumer<JsonObject> consumer;
  private MessageConsumer<JsonObject> changes;

  /**
   * @param spec     the agent's configuration
   * @param instance instance id, unique cluster-wide for this agent
   * @param node     name of the node it runs on (reported in replies)
   * @param events   metrics hooks
   * @param signer   signs this instance's requests to memory, the governor and delegation as its agent;
   *                 it holds that agent's key only, so the agent's code cannot sign as another
   */
  public AgentVerticle(AgentSpec spec, String instance, String node, AgentEvents events, MessageAuth.Signer signer) {
    this(spec, instance, node, events, signer, model -> TokenCounter.ESTIMATE);
  }

  /**
   * @param counters the token counter of each model key (context trimming counts as the model's
   *                 provider will)
   */
  public AgentVerticle(AgentSpec spec, String instance, String node, AgentEvents events, MessageAuth.Signer signer,
                       Function<String, TokenCounter> counters) {
    this(spec, instance, node, events, signer, counters, null);
  }

  /**
   * @param turns checks that every message to this instance was signed by a node ({@link MessageAuth})
   *              for this address, once; null accepts unsigned turns (tests that drive an instance directly)
   */
  public AgentVerticle(AgentSpec spec, String instance, String node, AgentEvents events, MessageAuth.Signer signer,
                       Function<String, TokenCounter> counters, MessageAuth.Verifier turns) {
    this.counters = counters;
    this.signer = signer;
    this.spec = spec;
    this.instance = instance;
    this.node = node;
    this.events = events;
    this.intake = new IncomingTurns(spec.id(), turns, events);
    this.mailboxes = new SessionMailboxes(spec.limits().maxConcurrent(), spec.limits().maxQueue());
  }

  /** The address this instance consumes. */
  public String address() {
    return Turn.address(spec.id(), instance);
  }

  @Override
  public Future<?> start() {
    LocalJson.register(vertx);
    MemoryClient memory = new MemoryClient(vertx, signer, MEMORY_TIMEOUT_MS);
    context = new ContextSource(spec, memory);
    runner = new TurnRunner(vertx, spec, instance, node, memory, new Skills(vertx, spec, memory, events, signer), context,
      new SessionHistory(HISTORY_SESSIONS, HISTORY_MESSAGES), events, signer, counters);
    heartbeat = new Heartbeat(vertx, spec, memory, events, signer);
    // a sensitive agent's answers never enter a cluster-wide map (they would cross the network unencrypted):
    // its retries find their first answer on its own node
    Future<AsyncMap<String, JsonObject>> kept = spec.sensitive()
      ? vertx.sharedData().getLocalAsyncMap("agenthub.answers.local")
      : vertx.sharedData().getAsyncMap("agenthub.answers");
    return kept.compose(map -> {
      answers = new FirstAnswers(spec.id(), map, IDEMPOTENCY_KEYS, ANSWER_TTL_MS);
      changes = vertx.eventBus().consumer(MemoryAddresses.CHANGED, m -> context.changed(m.body().getString("path")));
      consumer = vertx.eventBus().consumer(address(), this::onTurn);
      heartbeat.start();
      return Future.all(consumer.completion(), changes.completion());
    });
  }

  /** The agent this is an instance of. */
  public String agent() {
    return spec.id();
  }

  /** Stops taking turns, then finishes the ones it has (for up to the turn timeout) before it goes. */
  @Override
  public Future<?> stop() {
    heartbeat.stop();
    return Future.join(consumer.unregister(), changes.unregister()).compose(v -> drained(
      System.currentTimeMillis() + spec.limits().turnTimeoutMs()));
  }

  private Future<Void> drained(long until) {
    if (mailboxes.depth() == 0 || System.currentTimeMillis() > until) {
      return Future.succeededFuture();
    }
    Promise<Void> later = Promise.promise();
    vertx.setTimer(50, id -> drained(until).onComplete(later));
    return later.future();
  }

  private void onTurn(Message<JsonObject> message) {
    IncomingTurns.Ask ask = intake.read(message);
    if (ask instanceof IncomingTurns.Refused refused) {
      Failure.reply(message, refused.failure());
    } else if (ask instanceof IncomingTurns.Cancel cancel) {
      cancel(message, cancel.turnKey());
    } else if (ask instanceof IncomingTurns.Run run) {
      run(message, run.request(), run.resent());
    }
  }

  private void run(Message<JsonObject> message, Turn.Request request, boolean resent) {
    LogFields.put(spec.id(), request.sessionKey(), request.idempotencyKey());
    answers.answer(request, resent, () -> running.run(request.turnKey(), control ->
        mailboxes.submit(request.sessionKey(), () -> runner.run(request, control, resent))))
      .onComplete(ar -> {
        if (ar.succeeded()) {
          message.reply(ar.result().toJson());
        } else {
          Failure.reply(message, TurnFailures.of(ar.cause()));
        }
      });
  }

  /** A streaming client went away: its turn stops, and its model call in flight is cut short. */
  private void cancel(Message<JsonObject> message, String turnKey) {
    RunningTurns.Cancellation cancelled = running.cancel(turnKey);
    if (cancelled.callInFlight() != null) {
      // the call in flight is a model call (the governor's) or a tool call (the tool door's)
      String to = cancelled.callInFlight().startsWith(ToolCall.ID_PREFIX) ? ToolCall.CANCEL_ADDRESS
        : ModelCall.CANCEL_ADDRESS;
      JsonObject cancel = new JsonObject().put("call_id", cancelled.callInFlight());
      vertx.eventBus().send(to, cancel, signer.sign(to, cancel, null));
    }
    message.reply(new JsonObject().put("cancelled", cancelled.found()));
  }

  /** Turns waiting or running in this instance (for the queue-depth gauge; read from any thread). */
  public int queueDepth() {
    return mailboxes.depth();
  }
}

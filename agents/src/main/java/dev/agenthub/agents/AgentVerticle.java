package dev.agenthub.agents;

import dev.agenthub.memory.MemoryAddresses;
import dev.agenthub.memory.MemoryClient;
import dev.agenthub.protocol.AgentEvents;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.LogFields;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.TokenCounter;
import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * One instance of one agent: an actor on {@code agent.<id>.<instance>}. Turns of a session run one
 * at a time in arrival order; sessions run concurrently up to the agent's limits. A retried message
 * (same idempotency key) gets the first answer. Idle sessions leave RAM; their state is the
 * transcript in shared memory. See {@link TurnRunner} for what a turn does and {@link Heartbeat}.
 */
public final class AgentVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(AgentVerticle.class.getName());
  private static final int HISTORY_SESSIONS = 2_000;
  private static final int HISTORY_MESSAGES = 40;
  private static final int IDEMPOTENCY_KEYS = 10_000;
  private static final long MEMORY_TIMEOUT_MS = 15_000;
  private static final long ANSWER_TTL_MS = 3_600_000;
  private AsyncMap<String, JsonObject> answers;

  private final AgentSpec spec;
  private final String instance;
  private final String node;
  private final AgentEvents events;
  private final MessageAuth.Signer signer;
  private final SessionMailboxes mailboxes;
  private TurnRunner runner;
  private ContextSource context;
  private Heartbeat heartbeat;
  private final Map<String, Future<Turn.Reply>> answered = new LinkedHashMap<>(256, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Future<Turn.Reply>> eldest) {
      return size() > IDEMPOTENCY_KEYS;
    }
  };
  private final Function<String, TokenCounter> counters;
  private final MessageAuth.Verifier turns;
  private final RunningTurns running = new RunningTurns();
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
    this.turns = turns;
    this.counters = counters;
    this.signer = signer;
    this.spec = spec;
    this.instance = instance;
    this.node = node;
    this.events = events;
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
    changes = vertx.eventBus().consumer(MemoryAddresses.CHANGED, m -> context.changed(m.body().getString("path")));
    consumer = vertx.eventBus().consumer(address(), this::onTurn);
    heartbeat.start();
    // a sensitive agent's answers never enter a cluster-wide map (they would cross the network unencrypted):
    // its retries find their first answer on its own node
    var answersMap = spec.sensitive() ? vertx.sharedData().<String, JsonObject>getLocalAsyncMap("agenthub.answers.local")
      : vertx.sharedData().<String, JsonObject>getAsyncMap("agenthub.answers");
    return answersMap.compose(map -> {
      answers = map;
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
    if (turns != null && !fromNode(message)) {
      LOG.warning("agent " + spec.id() + ": refused a turn not signed by a node (unsigned, forged, replayed or stale)");
      events.refused(spec.id(), "identity");
      Failure.reply(message, new Failure(Failure.Kind.FORBIDDEN, "turns on agent addresses must be signed by a hub node"));
      return;
    }
    if (message.headers().contains(Turn.CANCEL_HEADER)) {
      cancel(message);
      return;
    }
    Turn.Request request;
    try {
      request = Turn.Request.fromJson(message.body());
    } catch (RuntimeException e) {
      Failure.reply(message, new Failure(Failure.Kind.BAD_REQUEST, "malformed turn"));
      return;
    }
    if (request.session() == null || request.text() == null) {
      Failure.reply(message, new Failure(Failure.Kind.BAD_REQUEST, "session and text are required"));
      return;
    }
    LogFields.put(spec.id(), request.sessionKey(), request.idempotencyKey());
    Future<Turn.Reply> reply;
    String key = request.turnKey();
    if (key != null && answered.containsKey(key)) {
      reply = answered.get(key);
    } else {
      // a client's own key, or a turn sent again after a node died: it may have been answered already
      boolean mayBeAnswered = key != null && (request.clientKey() || message.headers().contains("resend"));
      Future<Turn.Reply> known = mayBeAnswered ? lookup(key) : Future.succeededFuture(null);
      boolean clientKey = request.clientKey();
      reply = known.compose(found -> {
        if (found != null) {
          return Future.succeededFuture(found);
        }
        boolean resent = message.headers().contains("resend");
        Future<Turn.Reply> turn = running.run(key, control ->
          mailboxes.submit(request.sessionKey(), () -> runner.run(request, control, resent)));
        return turn.onSuccess(r -> {
          if (clientKey) {
            remember(key, r);
          }
        });
      });
      if (key != null) {
        Future<Turn.Reply> mine = reply;
        answered.put(key, mine);
        // a failed first attempt must not answer its retries: they get a turn of their own; and a
        // key the gateway made up only matters while the turn runs (a resend after a node death)
        mine.onComplete(ar -> {
          if (ar.failed() || !clientKey) {
            answered.remove(key, mine);
          }
        });
      }
    }
    reply.onComplete(ar -> {
      if (ar.succeeded()) {
        message.reply(ar.result().toJson());
      } else {
        Failure.reply(message, TurnFailures.of(ar.cause()));
      }
    });
  }

  /** Turns come from a node's dispatcher only: an agent's own key cannot start a turn past client checks. */
  private boolean fromNode(Message<?> message) {
    String principal = turns.verify(message);
    return principal != null && principal.startsWith(MessageAuth.nodePrincipal(""));
  }

  /** A streaming client went away: its turn stops, and its model call in flight is cut short. */
  private void cancel(Message<JsonObject> message) {
    JsonObject body = message.body();
    String key = body == null ? null : Turn.Request.fromJson(body).turnKey();
    RunningTurns.Cancellation cancelled = running.cancel(key);
    if (cancelled.callInFlight() != null) {
      JsonObject cancel = new JsonObject().put("call_id", cancelled.callInFlight());
      vertx.eventBus().send(ModelCall.CANCEL_ADDRESS, cancel, signer.sign(ModelCall.CANCEL_ADDRESS, cancel, null));
    }
    message.reply(new JsonObject().put("cancelled", cancelled.found()));
  }

  /**
   * Answers to clients' own idempotency keys, kept cluster-wide for an hour, so a retry on any
   * instance gets the first answer. (Keys the gateway makes up are not kept: only a turn in flight
   * can be sent again, and then the running turn is found in {@code answered}.)
   */
  private Future<Turn.Reply> lookup(String key) {
    if (answers == null) {
      return Future.succeededFuture(null);
    }
    return answers.get(spec.id() + "|" + key).map(json -> json == null ? null : Turn.Reply.fromJson(json))
      .otherwise((Turn.Reply) null);
  }

  private void remember(String key, Turn.Reply reply) {
    if (key != null && answers != null) {
      answers.put(spec.id() + "|" + key, reply.toJson(), ANSWER_TTL_MS);
    }
  }

  /** Turns waiting or running in this instance (for the queue-depth gauge; read from any thread). */
  public int queueDepth() {
    return mailboxes.depth();
  }
}

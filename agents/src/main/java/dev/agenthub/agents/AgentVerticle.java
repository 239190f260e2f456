package dev.agenthub.agents;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One instance of one agent: an actor on {@code agent.<id>.<instance>}. Turns of a session run one at
 * a time in arrival order; different sessions run concurrently up to the agent's limits. Each turn
 * asks the governor for a completion and answers with a {@link Turn.Reply}.
 */
public final class AgentVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(AgentVerticle.class.getName());
  private static final int HISTORY_SESSIONS = 10_000;
  private static final int HISTORY_MESSAGES = 20;

  private final AgentSpec spec;
  private final String instance;
  private final String node;
  private final long modelTimeoutMs;
  private SessionMailboxes mailboxes;
  private SessionHistory history;
  private MessageConsumer<JsonObject> consumer;

  /**
   * @param spec           the agent's configuration
   * @param instance       instance id, unique cluster-wide for this agent
   * @param node           name of the node it runs on (reported in replies)
   * @param modelTimeoutMs how long a governor call may take before the turn fails with 504
   */
  public AgentVerticle(AgentSpec spec, String instance, String node, long modelTimeoutMs) {
    this.spec = spec;
    this.instance = instance;
    this.node = node;
    this.modelTimeoutMs = modelTimeoutMs;
  }

  /** The address this instance consumes. */
  public String address() {
    return Turn.address(spec.id(), instance);
  }

  @Override
  public Future<?> start() {
    mailboxes = new SessionMailboxes(spec.limits().maxConcurrent(), spec.limits().maxQueue());
    history = new SessionHistory(HISTORY_SESSIONS, HISTORY_MESSAGES);
    consumer = vertx.eventBus().consumer(address(), this::onTurn);
    return consumer.completion();
  }

  @Override
  public Future<?> stop() {
    return consumer.unregister();
  }

  private void onTurn(Message<JsonObject> message) {
    Turn.Request request;
    try {
      request = Turn.Request.fromJson(message.body());
    } catch (RuntimeException e) {
      message.fail(Turn.Failure.BAD_REQUEST, "malformed turn");
      return;
    }
    if (request.session() == null || request.text() == null) {
      message.fail(Turn.Failure.BAD_REQUEST, "session and text are required");
      return;
    }
    mailboxes.submit(request.session(), () -> runTurn(request)).onComplete(ar -> {
      if (ar.succeeded()) {
        message.reply(ar.result().toJson());
      } else {
        Throwable cause = ar.cause();
        message.fail(failureCode(cause), failureText(cause));
      }
    });
  }

  private Future<Turn.Reply> runTurn(Turn.Request request) {
    int budget = spec.limits().contextTokens() - Tokens.estimate(spec.persona()) - Tokens.estimate(request.text());
    JsonArray messages = new JsonArray()
      .add(new JsonObject().put("role", "system").put("content", spec.persona()));
    history.recent(request.session(), Math.max(0, budget)).forEach(messages::add);
    messages.add(new JsonObject().put("role", "user").put("content", request.text()));
    ModelCall.Request call = new ModelCall.Request(spec.id(), spec.routineModel(), messages,
      spec.limits().outputTokens(), request.priority());
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(modelTimeoutMs);
    return vertx.eventBus().<JsonObject>request(ModelCall.ADDRESS, call.toJson(), options)
      .map(reply -> {
        ModelCall.Reply answer = ModelCall.Reply.fromJson(reply.body());
        history.add(request.session(), "user", request.text());
        history.add(request.session(), "assistant", answer.content());
        return new Turn.Reply(spec.id(), request.session(), instance, node, answer.content(), answer.model(),
          answer.inputTokens(), answer.outputTokens(), answer.costUsd(), answer.cached());
      });
  }

  private static int failureCode(Throwable cause) {
    if (cause instanceof SessionMailboxes.QueueFullException) {
      return Turn.Failure.QUEUE_FULL;
    }
    if (cause instanceof ReplyException re) {
      if (re.failureType() == ReplyFailure.TIMEOUT) {
        return Turn.Failure.MODEL_TIMEOUT;
      }
      if (re.failureType() == ReplyFailure.RECIPIENT_FAILURE && re.failureCode() >= 400) {
        return re.failureCode();
      }
      return Turn.Failure.UNAVAILABLE;
    }
    LOG.log(Level.WARNING, "turn failed unexpectedly", cause);
    return Turn.Failure.MODEL_ERROR;
  }

  private static String failureText(Throwable cause) {
    if (cause instanceof SessionMailboxes.QueueFullException) {
      return cause.getMessage();
    }
    if (cause instanceof ReplyException re) {
      return switch (re.failureType()) {
        case TIMEOUT -> "the model did not answer in time";
        case NO_HANDLERS -> "no governor on this node";
        default -> re.getMessage() == null ? "model call failed" : re.getMessage();
      };
    }
    return "model call failed";
  }

  /** Turns waiting in this instance's mailboxes (for the queue-depth gauge). */
  public int queueDepth() {
    return mailboxes == null ? 0 : mailboxes.waiting() + mailboxes.running();
  }
}

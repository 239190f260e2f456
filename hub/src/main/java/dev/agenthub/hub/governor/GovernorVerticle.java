package dev.agenthub.hub.governor;

import dev.agenthub.agents.ModelCall;
import dev.agenthub.agents.Turn;
import dev.agenthub.hub.config.HubConfig;
import dev.agenthub.hub.metrics.HubMetrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;

/**
 * The only place that talks to model providers. This first version serves the built-in {@code sim}
 * provider; OpenAI-compatible and Anthropic providers, key pools and limits come with the governor
 * issue, and until then a model on such a provider fails its calls with a clear message.
 */
public final class GovernorVerticle extends VerticleBase {

  private final HubConfig config;
  private final HubMetrics metrics;
  private final SimProvider sim = new SimProvider();
  private MessageConsumer<JsonObject> consumer;

  public GovernorVerticle(HubConfig config, HubMetrics metrics) {
    this.config = config;
    this.metrics = metrics;
  }

  @Override
  public Future<?> start() {
    consumer = vertx.eventBus().localConsumer(ModelCall.ADDRESS, this::onCall);
    return consumer.completion();
  }

  private void onCall(Message<JsonObject> message) {
    ModelCall.Request request;
    try {
      request = ModelCall.Request.fromJson(message.body());
    } catch (RuntimeException e) {
      message.fail(Turn.Failure.BAD_REQUEST, "malformed model call");
      return;
    }
    HubConfig.Model model = config.models().get(request.model());
    if (model == null || request.messages() == null) {
      message.fail(Turn.Failure.BAD_REQUEST, "unknown model '" + request.model() + "'");
      return;
    }
    HubConfig.Provider provider = config.providers().get(model.provider());
    long started = System.nanoTime();
    if (!"sim".equals(provider.type())) {
      metrics.modelCall(request.agent(), model.id(), provider.id(), "error", System.nanoTime() - started);
      message.fail(Turn.Failure.MODEL_ERROR, "provider type '" + provider.type() + "' is not supported yet");
      return;
    }
    SimProvider.Answer answer;
    try {
      answer = sim.complete(model.id(), request.messages(), request.tools(), request.maxTokens());
    } catch (SimProvider.Failure e) {
      delay(provider.latencyMs()).onComplete(ignored -> {
        metrics.modelCall(request.agent(), model.id(), provider.id(), "error", System.nanoTime() - started);
        message.fail(Turn.Failure.MODEL_ERROR, e.getMessage());
      });
      return;
    }
    delay(provider.latencyMs()).onComplete(ignored -> {
      long nanos = System.nanoTime() - started;
      double cost = model.cost(answer.inputTokens(), answer.outputTokens());
      metrics.modelCall(request.agent(), model.id(), provider.id(), "ok", nanos);
      metrics.usage(request.agent(), model.id(), answer.inputTokens(), answer.outputTokens(), cost);
      message.reply(new ModelCall.Reply(answer.content(), answer.toolCalls(), model.id(), answer.inputTokens(),
        answer.outputTokens(), cost, false, nanos / 1_000_000).toJson());
    });
  }

  private Future<Void> delay(long ms) {
    if (ms <= 0) {
      return Future.succeededFuture();
    }
    Promise<Void> promise = Promise.promise();
    vertx.setTimer(ms, id -> promise.complete());
    return promise.future();
  }
}

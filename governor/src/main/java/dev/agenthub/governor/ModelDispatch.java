package dev.agenthub.governor;

import dev.agenthub.config.HubConfig;
import dev.agenthub.config.HubConfig.ProviderType;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.Priority;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.util.Map;
import java.util.function.Consumer;

/**
 * One attempt at one model, sent where that model is served: the built-in sim (after the provider's
 * latency), the provider's batch lane (batch calls, billed at the batch price) or its lane; the
 * answer comes back priced and metered. Which models a call tries, and in what order, is the
 * pipeline's ({@link ModelCallPipeline}).
 */
final class ModelDispatch {

  /** An attempt under way: its answer to come, and how to cut it short. */
  record Attempt(Future<ModelCall.Reply> reply, Runnable cancel) {
  }

  private static final Runnable NOT_CANCELLABLE = () -> { };

  private final Vertx vertx;
  private final HubConfig config;
  private final GovernorEvents metrics;
  private final TokenCounters counters;
  private final Map<String, ProviderLane> lanes;
  private final Map<String, BatchLane> batchLanes;
  private final SimProvider sim = new SimProvider();

  /**
   * @param lanes      each provider's lane, by provider id (every provider but the sim)
   * @param batchLanes the batch lanes of the providers that have one, by provider id
   */
  ModelDispatch(Vertx vertx, HubConfig config, GovernorEvents metrics, TokenCounters counters,
                Map<String, ProviderLane> lanes, Map<String, BatchLane> batchLanes) {
    this.vertx = vertx;
    this.config = config;
    this.metrics = metrics;
    this.counters = counters;
    this.lanes = lanes;
    this.batchLanes = batchLanes;
  }

  /**
   * Starts {@code request} on {@code model}; {@code deltas} receives the answer's pieces (null for a
   * plain call). The reply fails with the lane's or the sim's own exception.
   */
  Attempt start(ModelCall.Request request, HubConfig.Model model, long deadline, Consumer<String> deltas) {
    HubConfig.Provider provider = config.providers().get(model.provider());
    long started = System.nanoTime();
    if (provider.type() == ProviderType.SIM) {
      return simulate(request, model, provider, deltas, started);
    }
    if (request.priority() == Priority.BATCH && batchLanes.containsKey(provider.id())) {
      Future<ProviderClient.Result> result = batchLanes.get(provider.id()).submit(model, request.messages(),
        request.tools(), request.maxTokens());
      return new Attempt(priced(request, model, provider, BatchLane.PRICE_FACTOR, started, result), NOT_CANCELLABLE);
    }
    ProviderLane.Handle handle = lanes.get(provider.id()).call(request.agent(), request.priority(), model,
      request.messages(), request.tools(), request.toolChoice(), request.maxTokens(), request.stop(), deadline, deltas,
      counters.apply(model.id()), model.id().equals(request.model()) ? request.inputTokens() : 0);
    return new Attempt(priced(request, model, provider, 1.0, started, handle.result()), handle::cancel);
  }

  /** The sim answers after its latency; streamed, its pieces are spread over that latency. */
  private Attempt simulate(ModelCall.Request request, HubConfig.Model model, HubConfig.Provider provider,
                           Consumer<String> deltas, long started) {
    SimProvider.Answer a;
    try {
      a = sim.complete(model.id(), request.messages(), request.tools(), request.maxTokens(), request.stop(),
        request.toolChoice());
    } catch (SimProvider.Failure e) {
      Promise<ProviderClient.Result> failed = Promise.promise();
      vertx.setTimer(Math.max(1, provider.latencyMs()), id -> failed.fail(e));
      return new Attempt(priced(request, model, provider, 1.0, started, failed.future()), NOT_CANCELLABLE);
    }
    SimStream stream = new SimStream(vertx, a, provider.latencyMs(), deltas);
    return new Attempt(priced(request, model, provider, 1.0, started, stream.start()), stream::cancel);
  }

  /** The provider's answer as the caller's reply: priced from {@code models:}, metered, its key named. */
  private Future<ModelCall.Reply> priced(ModelCall.Request request, HubConfig.Model model, HubConfig.Provider provider,
                                         double priceFactor, long started, Future<ProviderClient.Result> result) {
    return result.map(r -> {
      long nanos = System.nanoTime() - started;
      ModelCall.Usage usage = r.usage();
      double cost = model.cost(usage) * priceFactor;
      if (!ModelCall.CANCELLED.equals(r.finishReason()) && counters.calibrating(model.id())) {
        counters.observe(model.id(), counters.apply(model.id()).countMessages(request.messages()), usage.input());
      }
      metrics.modelCall(request.agent(), model.id(), provider.id(), "ok", nanos);
      metrics.usage(request.agent(), model.id(), usage.input(), usage.output(), cost);
      return new ModelCall.Reply(r.content(), r.toolCalls(), model.id(), usage, cost, false, nanos / 1_000_000,
        provider.id() + "/" + (provider.type() == ProviderType.SIM ? "sim" : r.keyId()), r.finishReason());
    }).onFailure(err -> metrics.modelCall(request.agent(), model.id(), provider.id(), "error",
      System.nanoTime() - started));
  }
}

package dev.agenthub.hub.governor;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.agents.ModelCall;
import dev.agenthub.agents.Turn;
import dev.agenthub.hub.config.HubConfig;
import dev.agenthub.hub.metrics.HubMetrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The only place that holds API keys and talks to model providers ({@code governor.complete}, local
 * on every node). A call goes to its model's provider lane (key pool, fair queue, retries); when the
 * model cannot be served (no key with room, provider failing) the model's fallbacks are tried in
 * order. Routine models answer from the response cache when they can; hits cost nothing.
 */
public final class GovernorVerticle extends VerticleBase {

  private static final long DEFAULT_DEADLINE_MS = 60_000;

  private final HubConfig config;
  private final HubMetrics metrics;
  private final Map<String, String> secrets;
  private final boolean clustered;
  private final byte[] secret;
  private final java.util.function.Supplier<dev.agenthub.hub.ledger.Spend> budgets;
  private final com.hazelcast.map.IMap<String, ClusterLimiter.State> buckets;
  private final SimProvider sim = new SimProvider();
  private final Map<String, ProviderLane> lanes = new HashMap<>();
  private final Map<String, BatchLane> batchLanes = new HashMap<>();
  private ResponseCache cache;

  private MessageConsumer<JsonObject> consumer;
  private WebClient web;

  /**
   * @param secrets   API key secrets by {@code <provider>/<key id>}, already read from env or files
   * @param hazelcast the cluster's Hazelcast member (keys' buckets and the cache are shared), or null alone
   * @param budgets   the latest budget standing from the ledger (null until measured)
   */
  public GovernorVerticle(HubConfig config, HubMetrics metrics, Map<String, String> secrets,
                          com.hazelcast.core.HazelcastInstance hazelcast,
                          java.util.function.Supplier<dev.agenthub.hub.ledger.Spend> budgets, byte[] secret) {
    this.secret = secret;
    this.budgets = budgets;
    this.buckets = hazelcast == null ? null : hazelcast.getMap(ClusterLimiter.MAP);
    this.clustered = hazelcast != null;
    this.config = config;
    this.metrics = metrics;
    this.secrets = secrets;
  }

  @Override
  public Future<?> start() {
    web = WebClient.create(vertx, new WebClientOptions().setConnectTimeout(10_000).setKeepAlive(true)
      .setUserAgent("agenthub"), new io.vertx.core.http.PoolOptions().setHttp1MaxSize(64));
    for (HubConfig.Provider p : config.providers().values()) {
      if (p.type().equals("sim")) {
        continue;
      }
      Map<String, String> keySecrets = new HashMap<>();
      p.keys().forEach(k -> keySecrets.put(k.id(), secrets.get(p.id() + "/" + k.id())));
      ProviderClient client = p.type().equals("anthropic") ? new AnthropicClient(web, p.baseUrl())
        : new OpenAiClient(web, p.baseUrl());
      KeyPool pool = new KeyPool(p.id(), p.keys(), keySecrets, rates -> key ->
        buckets == null ? new LocalLimiter(rates) : new ClusterLimiter(buckets, key, rates, context));
      lanes.put(p.id(), new ProviderLane(vertx, p, pool, client, metrics,
        agent -> config.agent(agent).map(AgentSpec::weight).orElse(1)));
      if (p.type().equals("openai")) {
        batchLanes.put(p.id(), new BatchLane(vertx, web, p, pool));
      }
    }
    cache = new ResponseCache(vertx, clustered);
    consumer = vertx.eventBus().localConsumer(ModelCall.ADDRESS, this::onCall);
    return Future.all(consumer.completion(), cache.start());
  }

  private void onCall(Message<JsonObject> message) {
    ModelCall.Request request;
    try {
      request = ModelCall.Request.fromJson(message.body());
    } catch (RuntimeException e) {
      message.fail(Turn.Failure.BAD_REQUEST, "malformed model call");
      return;
    }
    if (secret != null && !dev.agenthub.memory.AgentIdentity.verify(secret, request.agent(), request.token())) {
      metrics.refused("identity");
      metrics.audit("identity_refused", new JsonObject().put("agent", request.agent()).put("to", "governor"));
      message.fail(403, "the call does not prove it comes from agent '" + request.agent() + "'");
      return;
    }
    HubConfig.Model model = config.models().get(request.model());
    if (model == null || request.messages() == null) {
      message.fail(Turn.Failure.BAD_REQUEST, "unknown model '" + request.model() + "'");
      return;
    }
    dev.agenthub.hub.ledger.Spend spend = budgets.get();
    AgentSpec agent = config.agent(request.agent()).orElse(null);
    if (agent != null && agent.sensitive() && !config.providers().get(model.provider()).local()) {
      // the config check at start makes this impossible; it is checked again here all the same
      metrics.refused("trust");
      metrics.audit("trust_refused", new JsonObject().put("agent", agent.id()).put("model", model.id()));
      message.fail(403, "sensitive agent '" + agent.id() + "' may use local providers only");
      return;
    }
    if (spend != null && agent != null) {
      String state = spend.stateFor(agent.id());
      if (state.equals("blocked")) {
        metrics.refused("budget");
        metrics.audit("budget_blocked", new JsonObject().put("agent", agent.id()).put("model", model.id()));
        message.fail(Turn.Failure.QUEUE_FULL, "budget exceeded for agent '" + agent.id()
          + "' this month (on-exceed: block)");
        return;
      }
      if (state.equals("downgraded") && model.id().equals(agent.complexModel())) {
        model = config.models().get(agent.routineModel());
      }
    }
    long timeout = message.headers().contains("timeout") ? Long.parseLong(message.headers().get("timeout"))
      : DEFAULT_DEADLINE_MS;
    long deadline = System.nanoTime() + timeout * 1_000_000;
    List<String> chain = new ArrayList<>();
    chain.add(model.id());
    chain.addAll(model.fallbacks());
    withFallbacks(request, chain, 0, deadline).compose(reply -> record(request, reply)).onComplete(ar -> {
      if (ar.succeeded()) {
        message.reply(ar.result().toJson());
      } else if (ar.cause() instanceof ProviderLane.Rejected || ar.cause() instanceof SimProvider.Failure
        || ar.cause() instanceof ProviderLane.NoCapacity) {
        message.fail(Turn.Failure.MODEL_ERROR, ar.cause().getMessage());
      } else {
        message.fail(Turn.Failure.MODEL_ERROR, "model call failed");
      }
    });
  }

  /** Every call is in the ledger before its answer leaves: {@code /v1/spend} never lags an answer. */
  private Future<ModelCall.Reply> record(ModelCall.Request request, ModelCall.Reply reply) {
    JsonObject usage = new JsonObject().put("agent", request.agent()).put("model", reply.model())
      .put("key", keyOf(reply)).put("input", reply.inputTokens()).put("output", reply.outputTokens())
      .put("usd", reply.costUsd()).put("cached", reply.cached());
    return vertx.eventBus().request(dev.agenthub.hub.ledger.LedgerVerticle.RECORD, usage)
      .map(ignored -> reply).otherwise(reply);
  }

  private static String keyOf(ModelCall.Reply reply) {
    return reply.keyId() == null ? "-" : reply.keyId();
  }

  private Future<ModelCall.Reply> withFallbacks(ModelCall.Request request, List<String> chain, int i, long deadline) {
    HubConfig.Model model = config.models().get(chain.get(i));
    return cached(request, model, deadline).recover(err -> {
      boolean canFall = i + 1 < chain.size() && !(err instanceof ProviderLane.Rejected)
        && System.nanoTime() < deadline;
      if (!canFall) {
        return Future.failedFuture(err);
      }
      metrics.fallback(chain.get(i), chain.get(i + 1));
      return withFallbacks(request, chain, i + 1, deadline);
    });
  }

  private Future<ModelCall.Reply> cached(ModelCall.Request request, HubConfig.Model model, long deadline) {
    AgentSpec agent = config.agent(request.agent()).orElse(null);
    boolean routine = agent != null && agent.routineModel().equals(model.id());
    if (agent == null || !agent.cache() || !routine) {
      return call(request, model, deadline);
    }
    String scope = agent.sensitive() ? "agent:" + agent.id() : "standard";
    String key = ResponseCache.key(scope, model.id(), request.messages(), request.tools(), request.maxTokens());
    return cache.get(key).compose(hit -> {
      if (hit != null) {
        metrics.cacheHit(model.id());
        ModelCall.Reply r = ModelCall.Reply.fromJson(hit);
        return Future.succeededFuture(new ModelCall.Reply(r.content(), r.toolCalls(), model.id(), r.inputTokens(),
          r.outputTokens(), 0.0, true, 0, "cache"));
      }
      return call(request, model, deadline).onSuccess(reply -> cache.put(key, reply.toJson()));
    });
  }

  private Future<ModelCall.Reply> call(ModelCall.Request request, HubConfig.Model model, long deadline) {
    HubConfig.Provider provider = config.providers().get(model.provider());
    long started = System.nanoTime();
    Future<ProviderClient.Result> result;
    boolean batch = "batch".equals(request.priority()) && batchLanes.containsKey(provider.id());
    if (provider.type().equals("sim")) {
      result = simulate(request, model, provider);
    } else if (batch) {
      result = batchLanes.get(provider.id()).submit(model.name(), request.messages(), request.tools(),
        request.maxTokens());
    } else {
      result = lanes.get(provider.id()).call(request.agent(), request.priority(), model, request.messages(),
        request.tools(), request.maxTokens(), deadline);
    }
    return result.map(r -> {
      long nanos = System.nanoTime() - started;
      double cost = model.cost(r.inputTokens(), r.outputTokens()) * (batch ? BatchLane.PRICE_FACTOR : 1.0);
      metrics.modelCall(request.agent(), model.id(), provider.id(), "ok", nanos);
      metrics.usage(request.agent(), model.id(), r.inputTokens(), r.outputTokens(), cost);
      return new ModelCall.Reply(r.content(), r.toolCalls(), model.id(), r.inputTokens(), r.outputTokens(), cost,
        false, nanos / 1_000_000, provider.id() + "/" + (provider.type().equals("sim") ? "sim" : r.keyId()));
    }).onFailure(err -> metrics.modelCall(request.agent(), model.id(), provider.id(), "error",
      System.nanoTime() - started));
  }

  private Future<ProviderClient.Result> simulate(ModelCall.Request request, HubConfig.Model model,
                                                 HubConfig.Provider provider) {
    Promise<ProviderClient.Result> promise = Promise.promise();
    Runnable answer = () -> {
      try {
        SimProvider.Answer a = sim.complete(model.id(), request.messages(), request.tools(), request.maxTokens());
        promise.complete(new ProviderClient.Result(200, null, a.content(), a.toolCalls(), a.inputTokens(),
          a.outputTokens(), null));
      } catch (SimProvider.Failure e) {
        promise.fail(e);
      }
    };
    if (provider.latencyMs() > 0) {
      vertx.setTimer(provider.latencyMs(), id -> answer.run());
    } else {
      answer.run();
    }
    return promise.future();
  }


}

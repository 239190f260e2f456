package dev.agenthub.governor;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.config.HubConfig;
import dev.agenthub.config.HubConfig.ProviderType;
import dev.agenthub.governor.ledger.BudgetCounters;
import dev.agenthub.memory.MemoryPolicy;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.LogFields;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.ModelCall;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The only place that holds API keys and talks to model providers ({@code governor.complete}, local
 * on every node). It builds each provider's lane (key pool, fair queue, connection bound, circuit
 * breaker, retries) and batch lane, checks who signed each call, and hands the call to the
 * {@link ModelCallPipeline} (admission, fallbacks between models, the response cache, costing, the
 * ledger); a streamed call can be cancelled ({@code governor.cancel}). Failures answer as a
 * {@link Failure}. It also answers the providers' status and puts refused keys back.
 */
public final class GovernorVerticle extends VerticleBase {

  /**
   * Address (every node's governor) of the admin's "put this key back": body {@code {provider, key}},
   * signed ({@link MessageAuth}) by a node or the admin principal.
   */
  public static final String ENABLE_KEY = "governor.keys.enable";
  /** Local address answering each provider's calls in flight, waiting, circuit and keys (to a node's signature). */
  public static final String STATUS = "governor.status";
  private static final Logger LOG = Logger.getLogger(GovernorVerticle.class.getName());
  private static final long DEFAULT_DEADLINE_MS = 60_000;
  private static final long MAX_DEADLINE_MS = 24 * 3_600_000L;

  private final HubConfig config;
  private final GovernorEvents metrics;
  private final Map<String, String> secrets;
  private final boolean clustered;
  private final MessageAuth.Verifier verifier;
  private final MessageAuth.Signer signer;
  private final BudgetCounters budgets;
  private final IMap<String, ClusterLimiter.State> buckets;
  private final TokenCounters counters;
  private final Map<String, ProviderLane> lanes = new HashMap<>();
  private final Map<String, BatchLane> batchLanes = new HashMap<>();
  private final List<HttpClientAgent> clients = new ArrayList<>();
  private ModelCallPipeline pipeline;

  /**
   * @param secrets   API key secrets by {@code <provider>/<key id>}, already read from env or files
   * @param hazelcast the cluster's Hazelcast member (keys' buckets and the cache are shared), or null alone
   * @param budgets   the cluster's budget counters, which every call is held against before it runs
   * @param counters  the token counter of each model, shared with this node's agents
   * @param verifier  checks every request's signature: a call is its signing agent's, admin actions a node's
   * @param signer    this node's signer (its usage records to the ledger)
   */
  public GovernorVerticle(HubConfig config, GovernorEvents metrics, Map<String, String> secrets,
                          HazelcastInstance hazelcast, BudgetCounters budgets, TokenCounters counters,
                          MessageAuth.Verifier verifier, MessageAuth.Signer signer) {
    this.verifier = verifier;
    this.signer = signer;
    this.budgets = budgets;
    this.buckets = hazelcast == null ? null : hazelcast.getMap(ClusterLimiter.MAP);
    this.clustered = hazelcast != null;
    this.config = config;
    this.metrics = metrics;
    this.secrets = secrets;
    this.counters = counters;
  }

  @Override
  public Future<?> start() {
    for (HubConfig.Provider p : config.providers().values()) {
      if (p.type() == ProviderType.SIM) {
        continue;
      }
      if (p.keys().stream().anyMatch(k -> !secrets.containsKey(p.id() + "/" + k.id()))) {
        continue; // no agent of this node uses it and its keys are not here (see Secrets.load)
      }
      Map<String, String> keySecrets = new HashMap<>();
      p.keys().forEach(k -> keySecrets.put(k.id(), secrets.get(p.id() + "/" + k.id())));
      HttpClientAgent http = HttpProviderClient.http(vertx, p);
      clients.add(http);
      ProviderClient client = p.type() == ProviderType.ANTHROPIC ? new AnthropicClient(vertx, http, p.baseUrl())
        : new OpenAiClient(vertx, http, p.baseUrl());
      KeyPool pool = new KeyPool(p.id(), p.keys(), keySecrets, rates -> key ->
        buckets == null ? new LocalLimiter(rates) : new ClusterLimiter(buckets, key, rates, context));
      lanes.put(p.id(), new ProviderLane(vertx, p, pool, client, metrics,
        agent -> config.agent(agent).map(AgentSpec::weight).orElse(1)));
      if (p.type() == ProviderType.OPENAI) {
        batchLanes.put(p.id(), new BatchLane(vertx, http, p, pool));
      }
    }
    // each client's tokens per minute over every model (clients with a tpm only)
    Map<String, Limiter> clientTpm = new HashMap<>();
    for (HubConfig.Client c : config.clients()) {
      if (c.tpm() > 0) {
        double[] limits = Admission.clientLimits(c.tpm());
        clientTpm.put(c.id(), buckets == null ? new LocalLimiter(limits)
          : new ClusterLimiter(buckets, "client:" + c.id(), limits, context));
      }
    }
    ResponseCache cache = new ResponseCache(vertx, clustered);
    pipeline = new ModelCallPipeline(vertx, config, metrics, new Admission(config, metrics, budgets, counters, clientTpm),
      cache, new ModelDispatch(vertx, config, metrics, counters, lanes, batchLanes), signer);
    MessageConsumer<JsonObject> calls = vertx.eventBus().localConsumer(ModelCall.ADDRESS, this::onCall);
    MessageConsumer<JsonObject> cancels = vertx.eventBus().localConsumer(ModelCall.CANCEL_ADDRESS, this::onCancel);
    MessageConsumer<JsonObject> enables = vertx.eventBus().consumer(ENABLE_KEY, this::onEnable);
    MessageConsumer<JsonObject> status = vertx.eventBus().localConsumer(STATUS, m -> {
      if (fromNode(m) == null) {
        Failure.reply(m, new Failure(Failure.Kind.FORBIDDEN, "not signed by a node"));
        return;
      }
      m.reply(status());
    });
    return Future.all(List.of(calls.completion(), cancels.completion(), enables.completion(), status.completion(),
      cache.start()));
  }

  @Override
  public Future<?> stop() {
    return Future.join(clients.stream().map(HttpClientAgent::close).toList());
  }

  /** The node that signed {@code m} (or the admin principal), or null (counted as refused). */
  private String fromNode(Message<?> m) {
    String principal = verifier.verify(m);
    if (principal != null && (principal.startsWith(MessageAuth.nodePrincipal("")) || principal.equals(MemoryPolicy.ADMIN))) {
      return principal;
    }
    metrics.refused("identity");
    return null;
  }

  private void onCall(Message<JsonObject> message) {
    ModelCall.Request request;
    try {
      request = ModelCall.Request.fromJson(message.body());
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "governor: malformed model call", e);
      Failure.reply(message, new Failure(Failure.Kind.BAD_REQUEST, "malformed model call"));
      return;
    }
    // the agent a call is charged to is the one that signed it, never just the one it names (a local
    // consumer: only this process reaches it, so a signature without the body's digest counts here)
    String principal = verifier.verifyLocal(message);
    if (principal == null || !principal.equals(request.agent())) {
      metrics.refused("identity");
      metrics.audit("identity_refused", new JsonObject().put("agent", request.agent()).put("to", "governor"));
      Failure.reply(message, new Failure(Failure.Kind.FORBIDDEN, "the call is not signed by agent '" + request.agent() + "'"));
      return;
    }
    LogFields.put(request.agent(), null, null);
    long deadline = System.nanoTime() + timeoutMs(message) * 1_000_000;
    pipeline.call(request, deadline).onComplete(ar -> {
      if (ar.succeeded()) {
        message.reply(ar.result().toJson());
      } else {
        Failure.reply(message, ModelCallPipeline.failureOf(ar.cause()));
      }
    });
  }

  /** The caller's deadline from the {@code timeout} header (ms), bounded; a bad value is the default. */
  private static long timeoutMs(Message<?> message) {
    String header = message.headers().get("timeout");
    if (header == null) {
      return DEFAULT_DEADLINE_MS;
    }
    try {
      long ms = Long.parseLong(header.trim());
      return ms <= 0 ? DEFAULT_DEADLINE_MS : Math.min(ms, MAX_DEADLINE_MS);
    } catch (NumberFormatException e) {
      return DEFAULT_DEADLINE_MS;
    }
  }

  private void onCancel(Message<JsonObject> message) {
    String principal = verifier.verify(message);
    if (principal == null) {
      metrics.refused("identity");
      return;
    }
    String id = message.body() == null ? null : message.body().getString("call_id");
    if (id != null) {
      // an agent cancels its own calls only
      pipeline.cancel(id, agent -> principal.equals(agent) || principal.startsWith(MessageAuth.nodePrincipal("")));
    }
  }

  private void onEnable(Message<JsonObject> message) {
    JsonObject body = message.body() == null ? new JsonObject() : message.body();
    if (fromNode(message) == null) {
      Failure.reply(message, new Failure(Failure.Kind.FORBIDDEN, "not signed by a node or the admin principal"));
      return;
    }
    ProviderLane lane = lanes.get(body.getString("provider", ""));
    boolean found = lane != null && lane.enable(body.getString("key", ""));
    if (found) {
      metrics.audit("key_enabled", new JsonObject().put("key", body.getString("provider") + "/" + body.getString("key")));
    }
    message.reply(new JsonObject().put("found", found));
  }

  /** Each provider's load, circuit and keys, for the dashboard and the admin API. */
  private JsonObject status() {
    JsonObject out = new JsonObject();
    long now = System.nanoTime();
    lanes.forEach((id, lane) -> {
      long[] load = lane.load();
      JsonArray keys = new JsonArray();
      for (KeyPool.KeyState k : lane.pool().keys()) {
        keys.add(new JsonObject().put("id", k.id).put("disabled", k.disabled)
          .put("cooling_ms", Math.max(0, (k.coolUntil - now) / 1_000_000)).put("headroom", k.limiter.headroom()));
      }
      out.put(id, new JsonObject().put("in_flight", load[0]).put("waiting", load[1]).put("peak_in_flight", load[2])
        .put("circuit", lane.circuit().name().toLowerCase(Locale.ROOT)).put("keys", keys));
    });
    return out;
  }
}

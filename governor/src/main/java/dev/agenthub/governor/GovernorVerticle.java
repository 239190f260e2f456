package dev.agenthub.governor;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.config.HubConfig;
import dev.agenthub.config.HubConfig.ProviderType;
import dev.agenthub.governor.ledger.BudgetCounters;
import dev.agenthub.governor.ledger.LedgerVerticle;
import dev.agenthub.memory.MemoryPolicy;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.LogFields;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.Priority;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
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
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The only place that holds API keys and talks to model providers ({@code governor.complete}, local
 * on every node). A call goes to its model's provider lane (key pool, fair queue, connection bound,
 * circuit breaker, retries); when the model cannot be served (no key with room, provider down) the
 * model's fallbacks are tried in order. A streamed call relays each piece of the answer to the
 * caller's stream address as the provider sends it, and can be cancelled ({@code governor.cancel}).
 * Routine models answer from the response cache when they can; hits cost nothing. Failures carry the
 * HTTP status as their code and a JSON error object ({@code {type, message, param}}) as their message.
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
  // each client's tokens per minute over every model (clients with a tpm only)
  private final Map<String, Limiter> clientTpm = new HashMap<>();
  private final IMap<String, ClusterLimiter.State> buckets;
  private final TokenCounters counters;
  private final SimProvider sim = new SimProvider();
  private final Map<String, ProviderLane> lanes = new HashMap<>();
  private final Map<String, BatchLane> batchLanes = new HashMap<>();
  private final List<HttpClientAgent> clients = new ArrayList<>();
  // streamed calls that may be cancelled, by call id
  private final Map<String, Running> running = new HashMap<>();
  private ResponseCache cache;
  private Admission admission;
  private MessageConsumer<JsonObject> consumer;

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
    for (HubConfig.Client c : config.clients()) {
      if (c.tpm() > 0) {
        // a minute's tokens as burst, refilled evenly; requests are not limited here (client-rps is)
        double[] limits = {1_000_000, c.tpm() / 60.0, 1_000_000, c.tpm()};
        clientTpm.put(c.id(), buckets == null ? new LocalLimiter(limits)
          : new ClusterLimiter(buckets, "client:" + c.id(), limits, context));
      }
    }
    admission = new Admission(config, metrics, budgets, counters, clientTpm);
    cache = new ResponseCache(vertx, clustered);
    consumer = vertx.eventBus().localConsumer(ModelCall.ADDRESS, this::onCall);
    MessageConsumer<JsonObject> cancels = vertx.eventBus().localConsumer(ModelCall.CANCEL_ADDRESS, this::onCancel);
    MessageConsumer<JsonObject> enables = vertx.eventBus().consumer(ENABLE_KEY, this::onEnable);
    MessageConsumer<JsonObject> status = vertx.eventBus().localConsumer(STATUS, m -> {
      if (fromNode(m) == null) {
        Failure.reply(m, new Failure(Failure.Kind.FORBIDDEN, "not signed by a node"));
        return;
      }
      m.reply(status());
    });
    return Future.all(List.of(consumer.completion(), cancels.completion(), enables.completion(), status.completion(),
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

  /** A call and what it may be cancelled through: the lane's handle, or the sim's timers. */
  private static final class Running {
    String agent;
    ProviderLane.Handle handle;
    Runnable simCancel;
    boolean cancelled;

    void cancel() {
      cancelled = true;
      if (handle != null) {
        handle.cancel();
      }
      if (simCancel != null) {
        simCancel.run();
      }
    }
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
    HubConfig.Model model = config.models().get(request.model());
    if (model == null || request.messages() == null) {
      Failure.reply(message, new Failure(Failure.Kind.BAD_REQUEST, "unknown model '" + request.model() + "'"));
      return;
    }
    AgentSpec agent = config.agent(request.agent()).orElse(null);
    if (agent != null && agent.sensitive() && !config.providers().get(model.provider()).local()) {
      // the config check at start makes this impossible; it is checked again here all the same
      metrics.refused("trust");
      metrics.audit("trust_refused", new JsonObject().put("agent", agent.id()).put("model", model.id()));
      Failure.reply(message, new Failure(Failure.Kind.FORBIDDEN,
        "sensitive agent '" + agent.id() + "' may use local providers only"));
      return;
    }
    long deadline = System.nanoTime() + timeoutMs(message) * 1_000_000;
    ModelCall.Request req = request;
    admission.admit(request, agent, model).onComplete(admitted -> {
      if (admitted.failed()) {
        failure(message, admitted.cause());
        return;
      }
      Admission.Ticket ticket = admitted.result();
      List<String> chain = new ArrayList<>();
      chain.add(ticket.model().id());
      chain.addAll(ticket.model().fallbacks());
      Running call = new Running();
      call.agent = req.agent();
      String callId = req.stream() == null ? null : req.stream().id();
      if (callId != null) {
        running.put(callId, call);
      }
      withFallbacks(req, chain, 0, deadline, call)
        .transform(ar -> {
          // the hold becomes the real cost (nothing for a failed call), then the answer is recorded
          Future<Void> settled = admission.settle(ticket, ar.succeeded() ? ar.result() : null);
          Future<ModelCall.Reply> recorded = ar.succeeded() ? record(req, ar.result()) : Future.failedFuture(ar.cause());
          return Future.join(settled, recorded).transform(all -> recorded);
        })
        .onComplete(ar -> {
          if (callId != null) {
            running.remove(callId, call);
          }
          if (ar.succeeded()) {
            message.reply(ar.result().toJson());
          } else {
            failure(message, ar.cause());
          }
        });
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

  /** The failure a model call answers: the governor's own refusals as they are, a provider's as a model error. */
  private void failure(Message<JsonObject> message, Throwable cause) {
    Failure.reply(message, failureOf(cause));
  }

  static Failure failureOf(Throwable cause) {
    if (cause instanceof Failure f) {
      return f;
    }
    if (cause instanceof ProviderLane.Rejected r) {
      return new Failure(Failure.Kind.MODEL_ERROR, r.getMessage(), r.param, null);
    }
    if (cause instanceof ProviderLane.StreamBroken) {
      return new Failure(Failure.Kind.STREAM_BROKEN, cause.getMessage());
    }
    if (cause instanceof ProviderLane.NoCapacity || cause instanceof SimProvider.Failure) {
      return new Failure(Failure.Kind.MODEL_ERROR, cause.getMessage());
    }
    LOG.log(Level.WARNING, "model call failed unexpectedly", cause);
    return new Failure(Failure.Kind.MODEL_ERROR, "model call failed");
  }

  private void onCancel(Message<JsonObject> message) {
    String principal = verifier.verify(message);
    if (principal == null) {
      metrics.refused("identity");
      return;
    }
    String id = message.body() == null ? null : message.body().getString("call_id");
    Running call = id == null ? null : running.get(id);
    // an agent cancels its own calls only
    if (call != null && (principal.equals(call.agent) || principal.startsWith(MessageAuth.nodePrincipal("")))) {
      call.cancel();
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

  /** Every call is in the ledger before its answer leaves: {@code /v1/spend} never lags an answer. */
  private Future<ModelCall.Reply> record(ModelCall.Request request, ModelCall.Reply reply) {
    ModelCall.Usage u = reply.usage();
    JsonObject usage = new JsonObject().put("agent", request.agent()).put("model", reply.model())
      .put("key", reply.keyId() == null ? "-" : reply.keyId()).put("input", u.input()).put("output", u.output())
      .put("cached_input", u.cachedInput()).put("cache_write", u.cacheWrite()).put("reasoning", u.reasoning())
      .put("usd", reply.costUsd()).put("cached", reply.cached());
    if (request.client() != null) {
      usage.put("client", request.client());
    }
    // the ledger's record is a local consumer: a local signature, no digest of the row to compute twice
    return vertx.eventBus().request(LedgerVerticle.RECORD, usage, signer.signLocal(LedgerVerticle.RECORD, null))
      .map(ignored -> reply).otherwise(reply);
  }

  private Future<ModelCall.Reply> withFallbacks(ModelCall.Request request, List<String> chain, int i, long deadline,
                                                Running call) {
    HubConfig.Model model = config.models().get(chain.get(i));
    return cached(request, model, deadline, call).recover(err -> {
      boolean canFall = i + 1 < chain.size() && !(err instanceof ProviderLane.Rejected)
        && !(err instanceof ProviderLane.StreamBroken) && !call.cancelled && System.nanoTime() < deadline;
      if (!canFall) {
        return Future.failedFuture(err);
      }
      metrics.fallback(chain.get(i), chain.get(i + 1));
      return withFallbacks(request, chain, i + 1, deadline, call);
    });
  }

  private Future<ModelCall.Reply> cached(ModelCall.Request request, HubConfig.Model model, long deadline, Running call) {
    AgentSpec agent = config.agent(request.agent()).orElse(null);
    boolean routine = agent != null && agent.routineModel().equals(model.id());
    if (agent == null || !agent.cache() || !routine) {
      return call(request, model, deadline, call);
    }
    String scope = agent.sensitive() ? "agent:" + agent.id() : "standard";
    String key = ResponseCache.key(scope, model.id(), request.messages(), request.tools(), request.maxTokens(),
      request.stop());
    // a sensitive agent's answers stay on this node: cluster maps cross the network unencrypted
    boolean nodeOnly = agent.sensitive();
    return cache.get(key, nodeOnly).compose(hit -> {
      if (hit != null) {
        metrics.cacheHit(model.id());
        ModelCall.Reply r = ModelCall.Reply.fromJson(hit);
        if (request.stream() != null && !r.content().isEmpty()) {
          Consumer<String> out = deltas(request.stream());
          SimProvider.pieces(r.content()).forEach(out);
        }
        return Future.succeededFuture(new ModelCall.Reply(r.content(), r.toolCalls(), model.id(), r.usage(), 0.0, true,
          0, "cache", r.finishReason()));
      }
      return call(request, model, deadline, call).onSuccess(reply -> {
        if (!reply.cancelled()) {
          cache.put(key, reply.toJson(), nodeOnly);
        }
      });
    });
  }

  /** Sends the answer's pieces to the stream's address, each with its offset in the turn's answer. */
  private Consumer<String> deltas(ModelCall.Stream stream) {
    int[] offset = {stream.offset()};
    return text -> {
      vertx.eventBus().send(stream.address(), new JsonObject().put("text", text), new DeliveryOptions()
        .addHeader(ModelCall.STREAM_ID, stream.id()).addHeader(ModelCall.OFFSET, Integer.toString(offset[0])));
      offset[0] += text.length();
    };
  }

  private Future<ModelCall.Reply> call(ModelCall.Request request, HubConfig.Model model, long deadline, Running call) {
    if (call.cancelled) {
      return Future.succeededFuture(new ModelCall.Reply("", null, model.id(), ModelCall.Usage.NONE, 0, false, 0, null,
        ModelCall.CANCELLED));
    }
    HubConfig.Provider provider = config.providers().get(model.provider());
    long started = System.nanoTime();
    Consumer<String> deltas = request.stream() == null ? null : deltas(request.stream());
    Future<ProviderClient.Result> result;
    boolean batch = request.priority() == Priority.BATCH && batchLanes.containsKey(provider.id());
    if (provider.type() == ProviderType.SIM) {
      result = simulate(request, model, provider, deltas, call);
    } else if (batch) {
      result = batchLanes.get(provider.id()).submit(model, request.messages(), request.tools(), request.maxTokens());
    } else {
      ProviderLane.Handle handle = lanes.get(provider.id()).call(request.agent(), request.priority(), model,
        request.messages(), request.tools(), request.maxTokens(), request.stop(), deadline, deltas,
        counters.apply(model.id()), model.id().equals(request.model()) ? request.inputTokens() : 0);
      call.handle = handle;
      result = handle.result();
    }
    return result.map(r -> {
      long nanos = System.nanoTime() - started;
      ModelCall.Usage usage = r.usage();
      double cost = model.cost(usage) * (batch ? BatchLane.PRICE_FACTOR : 1.0);
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

  /** The sim answers after its latency; streamed, its pieces are spread over that latency. */
  private Future<ProviderClient.Result> simulate(ModelCall.Request request, HubConfig.Model model,
                                                 HubConfig.Provider provider, Consumer<String> deltas, Running call) {
    SimProvider.Answer a;
    try {
      a = sim.complete(model.id(), request.messages(), request.tools(), request.maxTokens(), request.stop());
    } catch (SimProvider.Failure e) {
      Promise<ProviderClient.Result> failed = Promise.promise();
      vertx.setTimer(Math.max(1, provider.latencyMs()), id -> failed.fail(e));
      return failed.future();
    }
    SimStream stream = new SimStream(vertx, a, provider.latencyMs(), deltas);
    call.simCancel = stream::cancel;
    return stream.start();
  }
}

package dev.agenthub.hub.gateway;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.agents.LogFields;
import dev.agenthub.agents.Turn;
import dev.agenthub.hub.cluster.ClusterView;
import dev.agenthub.hub.cluster.NodeEntry;
import dev.agenthub.hub.telemetry.Tracing;
import dev.agenthub.memory.MemoryClient;
import dev.agenthub.memory.MemoryPolicy;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The HTTP face of a node: every node serves the whole API for every agent, routing each session to
 * its owning instance anywhere in the cluster. See "Contract: HTTP API".
 */
public final class GatewayVerticle extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(GatewayVerticle.class.getName());
  private static final long SHUTDOWN_GRACE_SECONDS = 30;
  private static final int HTTP2_STREAMS = 1000;
  /** How long a batch message may take: provider batch windows are long. */
  static final long BATCH_TIMEOUT_MS = 3_600_000;

  private final GatewayContext gw;
  private final int port;
  private HttpServer server;
  private TurnDispatcher dispatcher;
  private ClientAuth auth;
  private io.vertx.ext.web.client.WebClient web;
  private StreamRelay relay;

  public GatewayVerticle(GatewayContext gw, int port) {
    this.gw = gw;
    this.port = port;
  }

  @Override
  public Future<?> start() {
    dispatcher = new TurnDispatcher(vertx, gw.view(), gw.config().node().http().requestTimeoutMs(), gw.turnToken());
    vertx.setPeriodic(250, id -> dispatcher.resendOrphans());
    auth = new ClientAuth(gw.config().clients());
    web = io.vertx.ext.web.client.WebClient.create(vertx);
    relay = new StreamRelay(vertx, gw.config().node().name());
    ChatCompletions chat = new ChatCompletions(gw, dispatcher, auth, relay);
    MemoryApi memory = new MemoryApi(new MemoryClient(vertx, MemoryPolicy.ADMIN, gw.adminToken(),
      gw.config().node().http().requestTimeoutMs()), auth);
    BodyHandler body = BodyHandler.create(false).setBodyLimit(gw.config().node().http().maxBodyBytes());

    Router router = Router.router(vertx);
    router.route().handler(GatewayVerticle::traceIds);
    router.route().handler(this::loopbackUnlessClients);
    router.route().handler(this::rateLimit);
    router.post("/v1/agents/:agent/messages").handler(body).handler(this::message);
    router.post("/v1/chat/completions").handler(body).handler(chat::handle);
    router.get("/v1/models").handler(chat::models);
    router.get("/v1/models/:id").handler(chat::model);
    router.post("/v1/keys/:provider/:key/enable").handler(this::enableKey);
    router.get("/v1/agents").handler(this::agents);
    router.get("/v1/cluster").handler(this::cluster);
    router.get("/v1/spend").handler(this::spend);
    router.get("/health/live").handler(ctx -> json(ctx, 200, new JsonObject().put("status", "UP")));
    router.get("/health/ready").handler(this::ready);
    router.get("/metrics").handler(this::metrics);
    Dashboard dashboard = new Dashboard(vertx, gw);
    if (firstInstance()) {
      vertx.setPeriodic(1_000, id -> {
        dashboard.publishOwn();
        dashboard.record();
      });
    }
    router.get("/").handler(ctx -> ctx.redirect("/ui/"));
    router.get("/ui/events").handler(ctx -> {
      // the admin token in the Authorization header only: a URL ends up in logs and histories
      auth.checkAdmin(ctx.request().getHeader("Authorization"));
      dashboard.events(ctx);
    });
    router.get("/ui/*").handler(io.vertx.ext.web.handler.StaticHandler.create("agenthub/ui")
      .setCachingEnabled(false).setIndexPage("index.html"));
    router.get("/v1/memory").handler(memory::list);
    router.get("/v1/memory/*").handler(memory::read);
    router.post("/v1/memory/*").handler(body).handler(memory::append);
    router.put("/v1/memory/*").handler(body).handler(memory::replace);
    router.route().failureHandler(this::failure);
    router.errorHandler(404, ctx -> ApiError.send(ctx, 404, "not_found", "no such endpoint: " + ctx.request().method()
      + " " + ctx.normalizedPath(), null));
    router.errorHandler(405, ctx -> ApiError.send(ctx, 405, "method_not_allowed",
      ctx.request().method() + " is not allowed on " + ctx.normalizedPath(), null));

    // HTTP/1.1 and h2c; many streams per HTTP/2 connection, so thousands of clients need few sockets
    HttpServerOptions options = new HttpServerOptions().setHost(gw.config().node().http().host())
      .setCompressionSupported(false).setMaxInitialLineLength(8192)
      .setInitialSettings(new io.vertx.core.http.Http2Settings().setMaxConcurrentStreams(HTTP2_STREAMS));
    server = vertx.createHttpServer(options).requestHandler(router);
    return relay.ready().compose(v -> server.listen(port));
  }

  @Override
  public Future<?> stop() {
    // stop accepting, let requests in flight finish, then close
    return server.shutdown(SHUTDOWN_GRACE_SECONDS, TimeUnit.SECONDS);
  }

  /**
   * With tracing on, every response names its trace: {@code X-Trace-Id}, and W3C's
   * {@code traceresponse} ({@code 00-<trace id>-<span id>-<flags>} of the hub's server span).
   */
  private static void traceIds(RoutingContext ctx) {
    String traceparent = Tracing.currentTraceparent();
    if (traceparent != null) {
      ctx.response().putHeader("X-Trace-Id", traceparent.substring(3, 35)).putHeader("traceresponse", traceparent);
    }
    ctx.next();
  }

  /** With no API clients configured the hub is open, so it only answers requests from this machine. */
  private void loopbackUnlessClients(RoutingContext ctx) {
    if (auth.open() && !ctx.normalizedPath().startsWith("/health/")) {
      var remote = ctx.request().remoteAddress();
      String host = remote == null ? null : remote.hostAddress();
      if (host != null && !(host.startsWith("127.") || host.equals("0:0:0:0:0:0:0:1") || host.equals("::1"))) {
        gw.metrics().refused("auth");
        throw new ApiError(401, "authentication_error",
          "this hub has no API clients configured and only answers requests from its own machine");
      }
    }
    ctx.next();
  }

  // a bucket per authenticated client (their number is the config's), and per address for requests
  // that prove no client; shared by this node's gateway instances. Addresses are bounded (least
  // recently seen leave first), so a flood of them costs memory once and resets no client's limit.
  private static final java.util.concurrent.ConcurrentHashMap<String, dev.agenthub.hub.governor.TokenBucket> CLIENTS =
    new java.util.concurrent.ConcurrentHashMap<>();
  private static final com.github.benmanes.caffeine.cache.Cache<String, dev.agenthub.hub.governor.TokenBucket> ADDRESSES =
    com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(100_000)
      .expireAfterAccess(java.time.Duration.ofMinutes(10)).build();

  /** Each client (authenticated by its token, else its address) gets {@code node.http.client-rps}. */
  private void rateLimit(RoutingContext ctx) {
    int rps = gw.config().node().http().clientRps();
    if (rps <= 0 || ctx.normalizedPath().startsWith("/health/")) {
      ctx.next();
      return;
    }
    String clientId = auth.clientId(ctx.request().getHeader("Authorization"));
    var remote = ctx.request().remoteAddress();
    checkRate(gw, clientId, remote == null ? "?" : remote.hostAddress());
    ctx.next();
  }

  /**
   * Takes one request from the bucket of {@code clientId} (else of {@code address}): 429 when it is
   * empty. Both doors (HTTP, event bus) share the buckets of a node.
   */
  static void checkRate(GatewayContext gw, String clientId, String address) {
    int rps = gw.config().node().http().clientRps();
    if (rps <= 0) {
      return;
    }
    String key = gw.config().node().name() + "|" + (clientId != null ? "c:" + clientId : "a:" + address);
    java.util.function.Function<String, dev.agenthub.hub.governor.TokenBucket> make =
      k -> new dev.agenthub.hub.governor.TokenBucket(2.0 * rps, rps, System.nanoTime());
    var bucket = clientId != null ? CLIENTS.computeIfAbsent(key, make) : ADDRESSES.get(key, make);
    long now = System.nanoTime();
    if (!bucket.tryTake(1, now)) {
      gw.metrics().refused("client_rate");
      long wait = Math.max(1, (bucket.nanosUntil(1, now) + 999_999_999) / 1_000_000_000);
      throw new ApiError(429, "rate_limited", "too many requests from this client (limit " + rps + "/s)", wait);
    }
  }

  /** One gateway instance per node publishes the node's dashboard figures. */
  private boolean firstInstance() {
    String me = java.util.UUID.randomUUID().toString();
    return vertx.sharedData().getLocalMap("agenthub.gateway").putIfAbsent("dashboard-publisher", me) == null;
  }

  private void message(RoutingContext ctx) {
    long started = System.nanoTime();
    String agent = ctx.pathParam("agent");
    auth.checkAgent(ctx.request().getHeader("Authorization"), null);
    AgentSpec spec = gw.config().agent(agent).orElse(null);
    if (spec == null) {
      gw.metrics().refused("unknown_agent");
      throw new ApiError(404, "not_found", "unknown agent '" + agent + "'");
    }
    auth.checkAgent(ctx.request().getHeader("Authorization"), agent);
    Requests.AgentMessage msg = Requests.AgentMessage.parse(Requests.jsonBody(ctx.body().buffer()));
    LogFields.put(agent, msg.session(), msg.idempotencyKey());
    String callback = msg.callback();
    if (callback != null) {
      checkCallback(callback);
    }
    String client = auth.clientId(ctx.request().getHeader("Authorization"));
    if (msg.batch()) {
      batch(ctx, agent, new Turn.Request(msg.session(), msg.text(), msg.idempotencyKey(), "batch").forClient(client),
        callback, started);
      return;
    }
    if (callback != null) {
      throw ApiError.badRequest("'callback_url' is for batch messages");
    }
    Turn.Request request = new Turn.Request(msg.session(), msg.text(), msg.idempotencyKey(), "interactive")
      .forClient(client);
    if (msg.stream()) {
      stream(ctx, agent, request, started);
      return;
    }
    dispatcher.dispatch(agent, request)
      .onSuccess(reply -> {
        gw.metrics().message(agent, "ok", System.nanoTime() - started);
        json(ctx, 200, reply);
      })
      .onFailure(err -> {
        gw.metrics().message(agent, outcome(err), System.nanoTime() - started);
        ctx.fail(err);
      });
  }

  /**
   * A streamed message: server-sent events {@code event: delta} {@code {"text"}} as the answer is
   * generated, then {@code event: done} with the usual response object (or {@code event: error}).
   */
  private void stream(RoutingContext ctx, String agent, Turn.Request request, long started) {
    TurnStream stream = new TurnStream(ctx, relay, new TurnStream.Format() {
      @Override
      public String delta(String text, boolean first) {
        return "event: delta\ndata: " + new JsonObject().put("text", text).encode() + "\n\n";
      }

      @Override
      public String done(Turn.Reply reply, boolean anyDelta) {
        return "event: done\ndata: " + reply.toJson().encode() + "\n\n";
      }

      @Override
      public String error(ApiError error) {
        return "event: error\ndata: " + error.toJson().encode() + "\n\n";
      }
    });
    Turn.Request streamed = new Turn.Request(request.session(), request.text(), request.idempotencyKey(),
      request.priority(), null, 0, 0, java.util.List.of(), null, stream.stream(), request.client()).withGatewayKey();
    stream.onClientGone(() -> dispatcher.cancel(streamed));
    stream.follow(dispatcher.dispatch(agent, streamed), gw, agent, started);
  }

  /** {@code POST /v1/keys/{provider}/{key}/enable}: puts a key taken out of the pool back, on every node. */
  private void enableKey(RoutingContext ctx) {
    auth.checkAdmin(ctx.request().getHeader("Authorization"));
    String provider = ctx.pathParam("provider");
    String key = ctx.pathParam("key");
    var p = gw.config().providers().get(provider);
    if (p == null || p.keys().stream().noneMatch(k -> k.id().equals(key))) {
      throw new ApiError(404, "not_found", "no key '" + key + "' in provider '" + provider + "'");
    }
    vertx.eventBus().publish(dev.agenthub.hub.governor.GovernorVerticle.ENABLE_KEY,
      new JsonObject().put("provider", provider).put("key", key).put("admin_token", gw.adminToken()));
    json(ctx, 200, new JsonObject().put("provider", provider).put("key", key).put("enabled", true));
  }

  /**
   * A batch message: 202 with its id at once; the turn runs at batch priority (the provider's batch
   * API where it has one), its answer lands in the transcript and, if asked, is POSTed to the callback.
   */
  private void batch(RoutingContext ctx, String agent, Turn.Request request, String callback, long started) {
    String batchId = "batch-" + java.util.UUID.randomUUID();
    json(ctx, 202, new JsonObject().put("batch_id", batchId).put("agent", agent).put("session", request.session()));
    dispatcher.dispatch(agent, request, BATCH_TIMEOUT_MS).onComplete(ar -> {
      gw.metrics().message(agent, ar.succeeded() ? "ok" : outcome(ar.cause()), System.nanoTime() - started);
      if (callback == null) {
        return;
      }
      JsonObject payload = ar.succeeded() ? ar.result().copy().put("batch_id", batchId)
        : new JsonObject().put("batch_id", batchId).put("error", new JsonObject().put("type", "batch_failed")
          .put("message", ar.cause().getMessage() == null ? "failed" : ar.cause().getMessage()));
      // to a listed host only (checked at submission), no redirects, a bounded wait, the answer unread
      web.postAbs(callback).followRedirects(false).timeout(CALLBACK_TIMEOUT_MS)
        .as(io.vertx.ext.web.codec.BodyCodec.none()).sendJsonObject(payload)
        .onSuccess(r -> {
          if (r.statusCode() / 100 != 2) {
            LOG.warning("batch " + batchId + ": callback answered " + r.statusCode());
          }
        })
        .onFailure(err -> LOG.warning("batch " + batchId + ": callback failed: " + err.getMessage()));
    });
  }

  private static final long CALLBACK_TIMEOUT_MS = 10_000;

  /**
   * A batch callback goes only to a host listed in {@code batch.callback-hosts} (exact names): never
   * to wherever a client points it, such as this machine, the cluster's ports or a cloud's metadata.
   */
  private void checkCallback(String callback) {
    java.net.URI uri;
    try {
      uri = new java.net.URI(callback);
    } catch (java.net.URISyntaxException e) {
      throw ApiError.badParam("callback_url", "'callback_url' is not a URL");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null || uri.getUserInfo() != null) {
      throw ApiError.badParam("callback_url", "'callback_url' must be an http:// or https:// URL with a host");
    }
    java.util.List<String> hosts = gw.config().batch().callbackHosts();
    if (hosts.isEmpty()) {
      throw ApiError.badParam("callback_url", "callbacks are off on this hub (batch.callback-hosts is empty)");
    }
    if (!hosts.contains(uri.getHost().toLowerCase(java.util.Locale.ROOT))) {
      throw ApiError.badParam("callback_url", "'" + uri.getHost() + "' is not in batch.callback-hosts");
    }
  }

  static String outcome(Throwable err) {
    if (err instanceof ApiError e) {
      return switch (e.status) {
        case 429 -> "rejected";
        case 504 -> "timeout";
        default -> "error";
      };
    }
    return "error";
  }

  private void agents(RoutingContext ctx) {
    auth.checkAgent(ctx.request().getHeader("Authorization"), null);
    ClusterView view = gw.view().get();
    JsonArray out = new JsonArray();
    for (AgentSpec spec : gw.config().agents()) {
      JsonArray running = new JsonArray();
      for (NodeEntry.Placement p : view.instancesOf(spec.id())) {
        running.add(new JsonObject().put("instance", p.id()).put("node", p.node()));
      }
      out.add(new JsonObject()
        .put("id", spec.id())
        .put("trust", spec.trust())
        .put("skills", new JsonArray(spec.skills()))
        .put("models", new JsonObject().put("routine", spec.routineModel()).put("complex", spec.complexModel()))
        .put("roles", new JsonArray(spec.roles()))
        .put("instances", spec.instances())
        .put("running", running));
    }
    json(ctx, 200, new JsonObject().put("agents", out));
  }

  private void cluster(RoutingContext ctx) {
    auth.checkAdmin(ctx.request().getHeader("Authorization"));
    JsonObject body = gw.view().get().toJson();
    JsonObject writer = gw.memoryWriter().get();
    body.put("memory", writer == null ? new JsonObject().putNull("writer") : writer);
    json(ctx, 200, body);
  }

  private void spend(RoutingContext ctx) {
    auth.checkAdmin(ctx.request().getHeader("Authorization"));
    vertx.eventBus().<JsonObject>request(dev.agenthub.hub.ledger.LedgerVerticle.SPEND, new JsonObject())
      .onSuccess(m -> json(ctx, 200, m.body()))
      .onFailure(err -> ctx.fail(new ApiError(503, "unavailable", "spend is not available right now", 1L)));
  }

  private void ready(RoutingContext ctx) {
    JsonObject checks = new JsonObject();
    boolean up = true;
    for (var check : gw.ready().entrySet()) {
      boolean ok = check.getValue().getAsBoolean();
      checks.put(check.getKey(), ok ? "UP" : "DOWN");
      up &= ok;
    }
    json(ctx, up ? 200 : 503, new JsonObject().put("status", up ? "UP" : "DOWN").put("checks", checks));
  }

  private void metrics(RoutingContext ctx) {
    auth.checkMetrics(ctx.request().getHeader("Authorization"));
    ctx.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(gw.registry().scrape());
  }

  private void failure(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    if (failure instanceof ApiError e) {
      if (e.status == 401 || e.status == 403) {
        gw.metrics().refused("auth");
        var remote = ctx.request().remoteAddress();
        gw.metrics().audit("auth_failed", new JsonObject().put("status", e.status)
          .put("method", ctx.request().method().name()).put("path", ctx.normalizedPath())
          .put("remote", remote == null ? null : remote.hostAddress()).put("reason", e.getMessage()));
      }
      e.send(ctx);
      return;
    }
    int status = ctx.statusCode();
    switch (status) {
      case 413 -> {
        gw.metrics().refused("too_large");
        ApiError.send(ctx, 413, "request_too_large", "request body is larger than "
          + gw.config().node().http().maxBodyBytes() + " bytes", null);
      }
      case 400 -> ApiError.send(ctx, 400, "invalid_request_error", "bad request", null);
      case 404 -> ApiError.send(ctx, 404, "not_found", "not found", null);
      case 405 -> ApiError.send(ctx, 405, "method_not_allowed", "method not allowed", null);
      default -> {
        if (failure != null) {
          LOG.log(Level.WARNING, "request failed: " + ctx.request().method() + " " + ctx.normalizedPath(), failure);
        }
        ApiError.send(ctx, status >= 400 && status < 600 ? status : 500, "internal_error", "internal error", null);
      }
    }
  }

  static void json(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
  }
}

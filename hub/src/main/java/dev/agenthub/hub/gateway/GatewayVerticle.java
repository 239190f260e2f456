package dev.agenthub.hub.gateway;

import dev.agenthub.memory.MemoryClient;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.StaticHandler;

import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP face of a node: every node serves the whole API for every agent, routing each session to
 * its owning instance anywhere in the cluster (see "Contract: HTTP API" in docs/ARCHITECTURE.md).
 * This verticle only assembles the router: the gate every request passes ({@link ClientGate}),
 * the agents' messages ({@link MessageRoutes}), the OpenAI-compatible routes
 * ({@link ChatCompletions}), shared memory ({@link MemoryApi}), and the routes about the hub
 * ({@link AdminRoutes}, {@link Dashboard}).
 */
public final class GatewayVerticle extends VerticleBase {

  private static final long SHUTDOWN_GRACE_SECONDS = 30;
  private static final int HTTP2_STREAMS = 1000;

  private final GatewayContext gw;
  private final int port;
  private HttpServer server;

  public GatewayVerticle(GatewayContext gw, int port) {
    this.gw = gw;
    this.port = port;
  }

  @Override
  public Future<?> start() {
    long timeoutMs = gw.config().node().http().requestTimeoutMs();
    TurnDispatcher dispatcher = new TurnDispatcher(vertx, gw.view(), timeoutMs, gw.signer());
    vertx.setPeriodic(250, id -> dispatcher.resendOrphans());
    ClientAuth auth = new ClientAuth(gw.config().clients());
    StreamRelay relay = new StreamRelay(vertx, gw.config().node().name());
    ClientGate gate = new ClientGate(gw, auth);
    MessageRoutes messages = new MessageRoutes(gw, auth, dispatcher, relay, WebClient.create(vertx));
    ChatCompletions chat = new ChatCompletions(gw, dispatcher, auth, relay);
    MemoryApi memory = new MemoryApi(new MemoryClient(vertx, gw.signer(), timeoutMs), auth);
    Dashboard dashboard = new Dashboard(vertx, gw);
    AdminRoutes admin = new AdminRoutes(vertx, gw, auth, dashboard);
    if (firstInstance()) {
      dashboard.startRecording();
    }
    BodyHandler body = BodyHandler.create(false).setBodyLimit(gw.config().node().http().maxBodyBytes());

    Router router = Router.router(vertx);
    router.route().handler(gate::traceIds);
    router.route().handler(gate::loopbackUnlessClients);
    router.route().handler(gate::rateLimit);
    router.post("/v1/agents/:agent/messages").handler(body).handler(messages::message);
    router.post("/v1/chat/completions").handler(body).handler(chat::handle);
    router.get("/v1/models").handler(chat::models);
    router.get("/v1/models/:id").handler(chat::model);
    router.get("/v1/memory").handler(memory::list);
    router.get("/v1/memory/*").handler(memory::read);
    router.post("/v1/memory/*").handler(body).handler(memory::append);
    router.put("/v1/memory/*").handler(body).handler(memory::replace);
    router.get("/v1/agents").handler(admin::agents);
    router.get("/v1/cluster").handler(admin::cluster);
    router.get("/v1/spend").handler(admin::spend);
    router.post("/v1/keys/:provider/:key/enable").handler(admin::enableKey);
    router.get("/health/live").handler(ctx -> Replies.json(ctx, 200, new JsonObject().put("status", "UP")));
    router.get("/health/ready").handler(admin::ready);
    router.get("/metrics").handler(admin::metrics);
    router.get("/").handler(ctx -> ctx.redirect("/ui/"));
    router.get("/ui/events").handler(admin::dashboardEvents);
    router.get("/ui/*").handler(StaticHandler.create("agenthub/ui").setCachingEnabled(false).setIndexPage("index.html"));
    router.route().failureHandler(gate::failure);
    router.errorHandler(404, ctx -> ApiError.send(ctx, 404, "not_found", "no such endpoint: " + ctx.request().method()
      + " " + ctx.normalizedPath(), null));
    router.errorHandler(405, ctx -> ApiError.send(ctx, 405, "method_not_allowed",
      ctx.request().method() + " is not allowed on " + ctx.normalizedPath(), null));

    // HTTP/1.1 and h2c; many streams per HTTP/2 connection, so thousands of clients need few sockets
    HttpServerOptions options = new HttpServerOptions().setHost(gw.config().node().http().host())
      .setCompressionSupported(false).setMaxInitialLineLength(8192)
      .setInitialSettings(new Http2Settings().setMaxConcurrentStreams(HTTP2_STREAMS));
    server = vertx.createHttpServer(options).requestHandler(router);
    return relay.ready().compose(v -> server.listen(port));
  }

  @Override
  public Future<?> stop() {
    // stop accepting, let requests in flight finish, then close
    return server.shutdown(SHUTDOWN_GRACE_SECONDS, TimeUnit.SECONDS);
  }

  /** Whether this is the node's first gateway instance (it records the dashboard). */
  private boolean firstInstance() {
    String me = UUID.randomUUID().toString();
    return vertx.sharedData().getLocalMap("agenthub.gateway").putIfAbsent("dashboard-publisher", me) == null;
  }
}

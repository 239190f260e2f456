package dev.agenthub.hub.gateway;

import dev.agenthub.memory.MemoryClient;
import dev.agenthub.protocol.Failure;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
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
 * ({@link ChatCompletions}), the MCP door ({@link McpRoutes}), shared memory ({@link MemoryApi}), and
 * the routes about the hub ({@link AdminRoutes}, {@link Dashboard}).
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
    ClientAuth auth = gw.intake().auth();
    StreamRelay relay = new StreamRelay(vertx, gw.config().node().name());
    ClientGate gate = new ClientGate(gw, auth);
    MessageRoutes messages = new MessageRoutes(gw, relay, WebClient.create(vertx));
    ChatCompletions chat = new ChatCompletions(gw, relay);
    McpRoutes mcp = new McpRoutes(gw, relay);
    MemoryApi memory = new MemoryApi(new MemoryClient(vertx, gw.signer(), timeoutMs), auth);
    Dashboard dashboard = new Dashboard(vertx, gw);
    AdminRoutes admin = new AdminRoutes(vertx, gw, auth, dashboard);
    if (firstInstance()) {
      dashboard.startRecording();
    }
    ConnectionDeadlines deadlines = new ConnectionDeadlines(vertx, gw);
    BodyHandler body = BodyHandler.create(false).setBodyLimit(gw.config().node().http().maxBodyBytes());

    Router router = Router.router(vertx);
    router.route().handler(deadlines::headArrived);
    router.route().handler(gate::traceIds);
    router.route().handler(gate::loopbackUnlessClients);
    router.route().handler(gate::rateLimit);
    withBody(router, HttpMethod.POST, "/v1/agents/:agent/messages", messages::admit, deadlines, body, messages::message);
    withBody(router, HttpMethod.POST, "/v1/chat/completions", chat::admit, deadlines, body, chat::handle);
    withBody(router, HttpMethod.POST, "/mcp", mcp::admit, deadlines, body, mcp::post);
    router.delete("/mcp").handler(mcp::admit).handler(mcp::delete);
    router.get("/mcp").handler(mcp::get);
    router.get("/v1/models").handler(chat::models);
    router.get("/v1/models/:id").handler(chat::model);
    router.get("/v1/memory").handler(memory::list);
    router.get("/v1/memory/*").handler(memory::read);
    withBody(router, HttpMethod.POST, "/v1/memory/*", memory::admit, deadlines, body, memory::append);
    withBody(router, HttpMethod.PUT, "/v1/memory/*", memory::admit, deadlines, body, memory::replace);
    ChannelRoutes channels = new ChannelRoutes(gw);
    withBody(router, HttpMethod.POST, ChannelRoutes.PREFIX + ":id", channels::admit, deadlines, body, channels::inbound);
    ApprovalRoutes approvals = new ApprovalRoutes(gw);
    router.get("/v1/approvals").handler(approvals::list);
    withBody(router, HttpMethod.POST, "/v1/approvals/:id", approvals::admit, deadlines, body, approvals::decide);
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
    router.errorHandler(404, ctx -> HttpFailures.send(ctx, Failure.Kind.NOT_FOUND, "no such endpoint: " + ctx.request().method()
      + " " + ctx.normalizedPath(), null));
    router.errorHandler(405, ctx -> HttpFailures.send(ctx, Failure.Kind.METHOD_NOT_ALLOWED,
      ctx.request().method() + " is not allowed on " + ctx.normalizedPath(), null));

    // HTTP/1.1 and h2c; many streams per HTTP/2 connection, so thousands of clients need few sockets
    // bound to node.http.host only: listen(port) alone would bind every interface
    HttpServerOptions options = new HttpServerOptions().setHost(gw.config().node().http().host()).setPort(port)
      .setIdleTimeout((int) gw.config().node().http().idleTimeoutMs()).setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
      .setCompressionSupported(false).setMaxInitialLineLength(8192)
      .setInitialSettings(new Http2Settings().setMaxConcurrentStreams(HTTP2_STREAMS));
    server = vertx.createHttpServer(options).connectionHandler(deadlines::connected).requestHandler(router);
    return relay.ready().compose(v -> server.listen());
  }

  /**
   * A route with a body: the client is admitted (token, agent) before the body is read, so a refused
   * client never makes the node buffer one, and the body is read by its deadline. Two routes, since
   * Vert.x Web puts a body handler before any handler of ours on one route.
   */
  private static void withBody(Router router, HttpMethod method, String path, Handler<RoutingContext> admit,
                               ConnectionDeadlines deadlines, BodyHandler body, Handler<RoutingContext> handler) {
    // admit answers at once (no Future), so the body handler is set before the first body bytes are handed on
    router.route(method, path).handler(admit).handler(deadlines::bodyDue);
    router.route(method, path).handler(body).handler(handler);
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

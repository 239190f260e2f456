package dev.agenthub.hub.gateway;

import dev.agenthub.memory.MemoryClient;
import dev.agenthub.protocol.Failure;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.net.URI;

/**
 * The memory admin routes (admin clients only once clients exist): list with sizes, read, append an
 * entry (answered once durable), replace a file atomically. Paths are checked by the writer.
 */
final class MemoryApi {

  private final MemoryClient memory;
  private final ClientAuth auth;

  MemoryApi(MemoryClient memory, ClientAuth auth) {
    this.memory = memory;
    this.auth = auth;
  }

  void list(RoutingContext ctx) {
    auth.checkAdmin(ctx.request().getHeader("Authorization"));
    String prefix = ctx.queryParams().get("prefix");
    reply(ctx, memory.list(prefix == null ? "" : prefix));
  }

  void read(RoutingContext ctx) {
    auth.checkAdmin(ctx.request().getHeader("Authorization"));
    String path = path(ctx);
    String section = ctx.queryParams().get("section");
    Future<String> text = section == null ? memory.read(path) : memory.readSection(path, section);
    text.onSuccess(t -> ctx.response().putHeader("Content-Type", "text/markdown; charset=utf-8").end(t))
      .onFailure(err -> ctx.fail(memoryFailure(err)));
  }

  /** Before a write's body is read: an admin token. */
  void admit(RoutingContext ctx) {
    auth.checkAdmin(ctx.request().getHeader("Authorization"));
    ctx.next();
  }

  /** After {@link #admit} and the body. */
  void append(RoutingContext ctx) {
    String path = path(ctx);
    JsonObject json = Requests.jsonBody(ctx.body().buffer());
    String author = Requests.requiredString(json, "author");
    String text = Requests.requiredString(json, "text");
    Requests.refuseNul(text, "text");
    reply(ctx, memory.append(path, author, text).map(r -> new JsonObject().put("path", r.getString("path"))
      .put("bytes", r.getLong("bytes"))));
  }

  /** After {@link #admit} and the body. */
  void replace(RoutingContext ctx) {
    String path = path(ctx);
    String text = ctx.body().asString("UTF-8");
    Requests.refuseNul(text, "body");
    reply(ctx, memory.replace(path, text == null ? "" : text).map(r -> new JsonObject().put("path", r.getString("path"))
      .put("bytes", r.getLong("bytes"))));
  }

  /**
   * Everything after {@code /v1/memory/} as the client sent it, percent-decoded but not normalized:
   * a {@code ..} must reach the writer's name check and be refused, not be resolved away.
   */
  private static String path(RoutingContext ctx) {
    String raw = ctx.request().path();
    String decoded;
    try {
      decoded = URI.create("http://h" + raw).getPath();
    } catch (IllegalArgumentException e) {
      throw Failure.of(Failure.Kind.BAD_REQUEST, "malformed memory path");
    }
    int at = decoded.indexOf("/v1/memory/");
    if (at != 0) {
      throw Failure.of(Failure.Kind.BAD_REQUEST, "memory paths are relative to the memory directory");
    }
    return decoded.substring("/v1/memory/".length());
  }

  private static void reply(RoutingContext ctx, Future<JsonObject> result) {
    result.onSuccess(json -> Replies.json(ctx, 200, json)).onFailure(err -> ctx.fail(memoryFailure(err)));
  }

  /** A memory failure as the admin API answers it: it writes under no session claim, and replicas are not its business. */
  static Failure memoryFailure(Throwable err) {
    if (err instanceof Failure e) {
      return switch (e.kind()) {
        case FENCED, STALE_CLAIM -> new Failure(Failure.Kind.CONFLICT, e.getMessage());
        // the replicas' own refusals are not meant for clients; should one get out, it is a writer change
        case STALE_WRITER, OUT_OF_ORDER -> new Failure(Failure.Kind.UNAVAILABLE, e.getMessage());
        default -> e;
      };
    }
    return new Failure(Failure.Kind.INTERNAL, "memory operation failed");
  }

}

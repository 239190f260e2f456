package dev.agenthub.mcp.door;

import dev.agenthub.protocol.Failure;

import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Map;

/**
 * One {@code tools/call} on its way: answered as a JSON body, or, when the client gave a progress
 * token and reads event streams, as server-sent events ({@code notifications/progress} while the
 * agent works, then the result). A cancel from the client (on any thread) ends it on the context of
 * its exchange with no result, as MCP asks, and tells the turn to stop.
 */
final class AskCall {

  /** Where the hub's answer object goes in a result's {@code _meta} (all of it but the reply's text). */
  static final String REPLY_META = "dev.agenthub/reply";
  /** Where a failed turn's error object goes in a result's {@code _meta}. */
  static final String ERROR_META = "dev.agenthub/error";

  private final McpDoor.Exchange exchange;
  private final Object id;
  private final Object progressToken;
  private final String agent;
  private final Context context = Vertx.currentContext();
  private final Promise<Void> cancelled = Promise.promise();
  private boolean started;
  private boolean done;
  private long progress = -1;

  /** @param progressToken the client's, when it asked for progress and reads event streams; else null */
  AskCall(McpDoor.Exchange exchange, Object id, Object progressToken, String agent) {
    this.exchange = exchange;
    this.id = id;
    this.progressToken = progressToken;
    this.agent = agent;
  }

  /** Completes when the client cancels the call. */
  Future<Void> cancelled() {
    return cancelled.future();
  }

  /** With progress asked for: the event stream opens and says the agent is asked. */
  void start() {
    started = true;
    if (progressToken != null && !done) {
      exchange.startEvents();
      progress(0, "asking " + agent);
    }
  }

  /** The agent's reply has {@code chars} characters so far. */
  void progress(int chars) {
    progress(chars, agent + " is answering (" + chars + " characters so far)");
  }

  private void progress(long value, String message) {
    if (!started || done || progressToken == null || value <= progress) {
      return; // MCP: each notification's progress is larger than the last
    }
    progress = value;
    exchange.write(JsonRpc.event(JsonRpc.notification("notifications/progress", new JsonObject()
      .put("progressToken", progressToken).put("progress", value).put("message", message))));
  }

  /** The turn ended: its reply, or its failure as a tool error ({@code isError}). */
  void finish(AsyncResult<JsonObject> turn) {
    if (done) {
      return;
    }
    done = true;
    JsonObject response = JsonRpc.result(id, turn.succeeded() ? reply(turn.result()) : failed(turn.cause()));
    if (progressToken != null) {
      exchange.write(JsonRpc.event(response));
      exchange.end();
    } else {
      exchange.answer(200, Map.of(), response.encode());
    }
  }

  /** The client cancelled it: called from any thread. */
  void cancel() {
    if (context == null) {
      cancelHere();
    } else {
      context.runOnContext(v -> cancelHere());
    }
  }

  private void cancelHere() {
    if (done) {
      return;
    }
    done = true;
    cancelled.tryComplete();
    // a cancelled request gets no response: the stream ends, a plain call is accepted with no body
    if (progressToken != null) {
      exchange.end();
    } else {
      exchange.answer(202, Map.of(), null);
    }
  }

  /**
   * A turn's answer as a tool's result: the reply as text, the rest of the answer object in {@code
   * _meta}. A turn that waits for a person's approval says so after what it said so far: the answer
   * after the decision goes to whoever decides ({@code POST /v1/approvals/<id>}), not to this call.
   */
  static JsonObject reply(JsonObject answer) {
    JsonObject rest = answer.copy();
    Object reply = rest.remove("reply");
    String text = reply == null ? "" : reply.toString();
    if (rest.getValue("approval") instanceof JsonObject approval) {
      text = (text.isEmpty() ? "" : text + "\n\n") + "[The agent waits for a person's approval of the tool '"
        + approval.getString("tool") + "' (approval " + approval.getString("id") + ", POST /v1/approvals/"
        + approval.getString("id") + "); once decided, the turn goes on in session '" + approval.getString("session")
        + "' and its answer goes to whoever decided.]";
    }
    return new JsonObject().put("content", new JsonArray().add(text(text))).put("isError", false)
      .put("_meta", new JsonObject().put(REPLY_META, rest));
  }

  /**
   * A failed turn as a tool's result: {@code isError} and the failure's message and kind (nothing of
   * an internal error but that it was one).
   */
  static JsonObject failed(Throwable err) {
    Failure f = Failure.from(err, Failure.Kind.INTERNAL, "internal error");
    Long retry = f.retryAfterSeconds();
    String text = f.getMessage() + " (" + f.kind().id() + (retry == null ? "" : "; retry after " + retry + " s") + ")";
    JsonObject error = f.toJson().getJsonObject("error").put("status", f.kind().status());
    if (retry != null) {
      error.put("retry_after_seconds", retry);
    }
    return new JsonObject().put("content", new JsonArray().add(text(text))).put("isError", true)
      .put("_meta", new JsonObject().put(ERROR_META, error));
  }

  private static JsonObject text(String text) {
    return new JsonObject().put("type", "text").put("text", text);
  }
}

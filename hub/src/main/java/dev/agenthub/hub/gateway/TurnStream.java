package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * One streamed answer on its way to an HTTP client as server-sent events: each piece is written as
 * it arrives from the governor (on whatever node), placed by its offset in the answer so a duplicate
 * is dropped; the final reply fills in anything that did not come as a piece, then closes the
 * stream. Nothing is written before the first piece, so a turn that fails before it still gets its
 * plain JSON error with the right status; a failure after it becomes an error event. A client that
 * goes away cancels the turn. Lives on the gateway's context.
 */
final class TurnStream implements StreamRelay.Sink {

  /** How one API writes its events. */
  interface Format {
    /** The event for one piece of text ({@code first}: the first of the answer). */
    String delta(String text, boolean first);

    /** The closing events for the answer. */
    String done(Turn.Reply reply, boolean anyDelta);

    /** The event that reports a failure after the stream began. */
    String error(Failure error);
  }

  private final RoutingContext ctx;
  private final StreamRelay relay;
  private final Format format;
  private final ModelCall.Stream stream;
  private Runnable onClientGone = () -> { };
  private int sent;
  private boolean ended;

  TurnStream(RoutingContext ctx, StreamRelay relay, Format format) {
    this.ctx = ctx;
    this.relay = relay;
    this.format = format;
    this.stream = relay.open(this);
    ctx.response().closeHandler(v -> {
      if (!ended) {
        ended = true;
        relay.close(stream);
        onClientGone.run();
      }
    });
  }

  ModelCall.Stream stream() {
    return stream;
  }

  /** What to do when the client goes away before the answer is complete. */
  void onClientGone(Runnable action) {
    this.onClientGone = action;
  }

  @Override
  public void piece(int offset, String text) {
    String unsent = ended ? null : StreamRelay.unsent(sent, offset, text);
    if (unsent != null) {
      write(unsent);
    }
  }

  private void write(String text) {
    HttpServerResponse r = ctx.response();
    boolean first = !r.headWritten();
    if (first) {
      r.setStatusCode(200).setChunked(true).putHeader("Content-Type", "text/event-stream; charset=utf-8")
        .putHeader("Cache-Control", "no-cache").putHeader("X-Accel-Buffering", "no");
    }
    r.write(format.delta(text, sent == 0));
    sent += text.length();
  }

  /** Follows a dispatched turn to its end: its reply closes the stream, its failure reports it. */
  void follow(Future<JsonObject> turn, GatewayContext gw, String agent, long started) {
    turn.onSuccess(reply -> {
      gw.metrics().message(agent, "ok", System.nanoTime() - started);
      complete(Turn.Reply.fromJson(reply));
    }).onFailure(err -> {
      gw.metrics().message(agent, Replies.outcome(err), System.nanoTime() - started);
      fail(err);
    });
  }

  void complete(Turn.Reply reply) {
    if (ended) {
      return;
    }
    String answer = reply.reply() == null ? "" : reply.reply();
    if (sent < answer.length()) {
      write(answer.substring(sent));
    }
    ended = true;
    relay.close(stream);
    HttpServerResponse r = ctx.response();
    if (!r.headWritten()) {
      r.setStatusCode(200).setChunked(true).putHeader("Content-Type", "text/event-stream; charset=utf-8")
        .putHeader("Cache-Control", "no-cache");
    }
    r.end(format.done(reply, sent > 0));
  }

  void fail(Throwable err) {
    if (ended) {
      return;
    }
    ended = true;
    relay.close(stream);
    if (!ctx.response().headWritten()) {
      ctx.fail(err);
      return;
    }
    Failure error = HttpFailures.of(err);
    ctx.response().end(format.error(error));
  }
}

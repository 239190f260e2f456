package dev.agenthub.governor;

import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.Tokens;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;

import java.util.List;
import java.util.function.Consumer;

/**
 * Delivers one sim answer after the provider's latency: whole, or streamed as pieces of a few words
 * spread evenly over that latency (the first after one piece's share of it), the way a real model's
 * tokens arrive. Cancelling stops the pieces; the answer is then what went out.
 */
final class SimStream {

  private final Vertx vertx;
  private final SimProvider.Answer answer;
  private final long latencyMs;
  private final Consumer<String> deltas;
  private final Promise<ProviderClient.Result> promise = Promise.promise();
  private final StringBuilder sent = new StringBuilder();
  private long timer = -1;

  SimStream(Vertx vertx, SimProvider.Answer answer, long latencyMs, Consumer<String> deltas) {
    this.vertx = vertx;
    this.answer = answer;
    this.latencyMs = latencyMs;
    this.deltas = deltas;
  }

  Future<ProviderClient.Result> start() {
    if (deltas == null || answer.content().isEmpty()) {
      if (latencyMs > 0) {
        timer = vertx.setTimer(latencyMs, id -> finish());
      } else {
        finish();
      }
      return promise.future();
    }
    List<String> pieces = SimProvider.pieces(answer.content());
    next(pieces, 0, Math.max(0, latencyMs) / (double) pieces.size());
    return promise.future();
  }

  private void next(List<String> pieces, int i, double stepMs) {
    if (i >= pieces.size()) {
      finish();
      return;
    }
    Runnable send = () -> {
      timer = -1;
      if (promise.future().isComplete()) {
        return;
      }
      sent.append(pieces.get(i));
      deltas.accept(pieces.get(i));
      next(pieces, i + 1, stepMs);
    };
    long delay = Math.round(stepMs * (i + 1)) - Math.round(stepMs * i);
    if (delay > 0) {
      timer = vertx.setTimer(delay, id -> send.run());
    } else {
      send.run();
    }
  }

  void cancel() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
    promise.tryComplete(ProviderClient.Result.answer(MultiMap.caseInsensitiveMultiMap(), sent.toString(),
      new JsonArray(), new ModelCall.Usage(answer.inputTokens(), 0, 0, Tokens.estimate(sent.toString()),
        0), ModelCall.CANCELLED));
  }

  private void finish() {
    promise.tryComplete(ProviderClient.Result.answer(MultiMap.caseInsensitiveMultiMap(), answer.content(),
      answer.toolCalls(), new ModelCall.Usage(answer.inputTokens(), 0, 0, answer.outputTokens(), 0),
      answer.finishReason()));
  }

}

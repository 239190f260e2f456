package dev.agenthub.governor;

import dev.agenthub.protocol.ModelCall;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonArray;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A provider that answers as its script says, in place of the outside world: each call is kept
 * (its key's secret included); cancelling a call ends it at once with nothing, finish reason cancelled.
 */
final class ScriptedProvider implements ProviderClient {

  final List<Call> calls = new CopyOnWriteArrayList<>();
  private final Function<Call, Future<Result>> script;

  ScriptedProvider(Function<Call, Future<Result>> script) {
    this.script = script;
  }

  /** Answers every call with {@code content} and {@code usage}. */
  static ScriptedProvider answering(String content, ModelCall.Usage usage) {
    return new ScriptedProvider(call -> Future.succeededFuture(ok(content, usage)));
  }

  /** Fails every call with the HTTP {@code status}. */
  static ScriptedProvider failing(int status) {
    return new ScriptedProvider(call -> Future.succeededFuture(status(status, null)));
  }

  static Result ok(String content, ModelCall.Usage usage) {
    return Result.answer(MultiMap.caseInsensitiveMultiMap(), content, new JsonArray(), usage, "stop");
  }

  static Result status(int status, String param) {
    return Result.failure(status, MultiMap.caseInsensitiveMultiMap(), "scripted failure", param);
  }

  @Override
  public Exchange start(Call call) {
    calls.add(call);
    Future<Result> answer = script.apply(call);
    Promise<Result> result = Promise.promise();
    answer.onComplete(ar -> {
      if (ar.succeeded()) {
        result.tryComplete(ar.result());
      } else {
        result.tryFail(ar.cause());
      }
    });
    return new Exchange() {
      @Override
      public Future<Result> result() {
        return result.future();
      }

      @Override
      public void cancel() {
        result.tryComplete(Result.answer(MultiMap.caseInsensitiveMultiMap(), "", new JsonArray(), ModelCall.Usage.NONE,
          ModelCall.CANCELLED));
      }
    };
  }
}

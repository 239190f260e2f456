package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Memory addresses served together and dropped together (the writer's, when it stops writing).
 * Every request is answered: a {@link Failure} as it is, a malformed request as
 * {@link Failure.Kind#BAD_REQUEST}, anything else unexpected as {@link Failure.Kind#INTERNAL}.
 */
final class MemoryConsumers {

  private static final Logger LOG = Logger.getLogger(MemoryConsumers.class.getName());

  private final Vertx vertx;
  private final List<MessageConsumer<JsonObject>> consumers = new ArrayList<>();

  MemoryConsumers(Vertx vertx) {
    this.vertx = vertx;
  }

  /** Serves {@code address}: the handler's answer is the reply. */
  void serve(String address, Function<Message<JsonObject>, Future<JsonObject>> handler) {
    consumers.add(vertx.eventBus().consumer(address, (Message<JsonObject> m) -> answer(m, address, handler)));
  }

  /** Serves {@code address} with a handler that replies itself (buffers, headers); a refusal it throws is answered. */
  void serveReplying(String address, Consumer<Message<JsonObject>> handler) {
    consumers.add(vertx.eventBus().consumer(address, (Message<JsonObject> m) -> {
      try {
        handler.accept(m);
      } catch (Failure e) {
        Failure.reply(m, e);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "memory: malformed request on " + address, e);
        Failure.reply(m, new Failure(Failure.Kind.BAD_REQUEST, "malformed memory request"));
      }
    }));
  }

  /** Completes once the cluster knows every address served so far. */
  Future<Void> ready() {
    List<Future<Void>> ready = new ArrayList<>();
    consumers.forEach(c -> ready.add(c.completion()));
    return Future.all(ready).mapEmpty();
  }

  /** Stops serving every address; completes once all are unregistered. */
  Future<Void> drop() {
    List<Future<Void>> gone = new ArrayList<>();
    consumers.forEach(c -> gone.add(c.unregister()));
    consumers.clear();
    return Future.join(gone).mapEmpty();
  }

  private static void answer(Message<JsonObject> m, String address,
                             Function<Message<JsonObject>, Future<JsonObject>> handler) {
    Future<JsonObject> result;
    try {
      result = handler.apply(m);
    } catch (Failure e) {
      result = Future.failedFuture(e);
    } catch (RuntimeException e) {
      // unexpected: a field of the wrong type, or a bug; said once, with its cause, then answered
      LOG.log(Level.WARNING, "memory: malformed request on " + address, e);
      result = Future.failedFuture(new Failure(Failure.Kind.BAD_REQUEST, "malformed memory request"));
    }
    result.onSuccess(m::reply).onFailure(err -> {
      if (err instanceof Failure me) {
        Failure.reply(m, me);
      } else {
        LOG.log(Level.WARNING, "memory: " + address + " failed unexpectedly", err);
        Failure.reply(m, new Failure(Failure.Kind.INTERNAL, "memory operation failed"));
      }
    });
  }
}

package dev.agenthub.agents;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A turn that waited behind another of its session starts on the Vert.x context its message
 * arrived on, not on the one of the turn before it, so what lives on its context (its trace, its
 * log fields) stays its own. Real Vert.x: each event-bus message is handled on a context of its own.
 */
@ExtendWith(VertxExtension.class)
class SessionMailboxesContextTest {

  @Test
  void aWaitingTurnStartsOnTheContextItArrivedOn(Vertx vertx, VertxTestContext test) {
    SessionMailboxes boxes = new SessionMailboxes(10, 100);
    Promise<Void> firstTurn = Promise.promise();
    AtomicReference<Context> firstArrived = new AtomicReference<>();
    AtomicReference<Context> secondArrived = new AtomicReference<>();
    AtomicReference<Context> secondRan = new AtomicReference<>();
    vertx.getOrCreateContext().runOnContext(start -> {
      vertx.eventBus().<String>consumer("turns", m -> {
        if (m.body().equals("one")) {
          firstArrived.set(Vertx.currentContext());
          boxes.submit("s", () -> firstTurn.future().map("one"));
          // the first turn ends later, on its own context
          vertx.setTimer(50, id -> firstTurn.complete());
        } else {
          secondArrived.set(Vertx.currentContext());
          boxes.submit("s", () -> {
            secondRan.set(Vertx.currentContext());
            return Future.succeededFuture("two");
          }).onComplete(test.succeeding(answer -> test.verify(() -> {
            assertThat(secondArrived.get()).isNotSameAs(firstArrived.get());
            assertThat(secondRan.get()).isSameAs(secondArrived.get());
            test.completeNow();
          })));
        }
      }).completion().onSuccess(v -> {
        vertx.eventBus().send("turns", "one");
        vertx.eventBus().send("turns", "two");
      });
    });
  }
}

package dev.agenthub.agents;

import dev.agenthub.protocol.Failure;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** What a failed turn answers, for each way a turn fails; the bus's own failures from a real bus. */
@ExtendWith(VertxExtension.class)
class TurnFailuresTest {

  @Test
  void theInstancesOwnFailuresHaveTheirKinds() {
    assertThat(TurnFailures.of(new SessionMailboxes.QueueFullException(3)).kind()).isEqualTo(Failure.Kind.QUEUE_FULL);
    assertThat(TurnFailures.of(new TurnRunner.TurnTimeout(100)).kind()).isEqualTo(Failure.Kind.TIMEOUT);
    assertThat(TurnFailures.of(new TurnRunner.Cancelled()).kind()).isEqualTo(Failure.Kind.CANCELLED);
    assertThat(TurnFailures.of(new IllegalStateException("a bug")))
      .as("anything else is the model's failure to the caller")
      .satisfies(f -> assertThat(f.kind()).isEqualTo(Failure.Kind.MODEL_ERROR))
      .satisfies(f -> assertThat(f.getMessage()).isEqualTo("model call failed"));
  }

  @Test
  void theMemorysFailuresAreWhatTheCallerMustDo() {
    Failure moved = TurnFailures.of(new Failure(Failure.Kind.FENCED, "claim 3.1 fenced by 3.2"));
    assertThat(moved.kind()).as("the gateway sends the turn to the new owner").isEqualTo(Failure.Kind.SESSION_MOVED);
    for (Failure.Kind writers : List.of(Failure.Kind.STALE_CLAIM, Failure.Kind.STALE_WRITER, Failure.Kind.OUT_OF_ORDER,
      Failure.Kind.INTERNAL)) {
      Failure f = TurnFailures.of(new Failure(writers, "disk"));
      assertThat(f.kind()).as(writers.id()).isEqualTo(Failure.Kind.UNAVAILABLE);
      assertThat(f.getMessage()).isEqualTo("memory unavailable: disk");
    }
    Failure budget = new Failure(Failure.Kind.BUDGET_EXCEEDED, "monthly budget spent", 3600L);
    assertThat(TurnFailures.of(budget)).as("any other failure goes to the caller as it is").isSameAs(budget);
  }

  @Test
  void aGovernorThatIsNotThereOrSilentIsUnavailableOrTimedOut(Vertx vertx, VertxTestContext test) {
    vertx.eventBus().consumer("silent", m -> { });
    Future<Message<String>> nobody = vertx.eventBus().request("nobody", "hi");
    Future<Message<String>> silent = vertx.eventBus().request("silent", "hi", new DeliveryOptions().setSendTimeout(50));
    Future.join(nobody, silent).onComplete(ar -> test.verify(() -> {
      Failure none = TurnFailures.of(nobody.cause());
      assertThat(none.kind()).isEqualTo(Failure.Kind.UNAVAILABLE);
      assertThat(none.getMessage()).isEqualTo("the governor did not answer");
      assertThat(TurnFailures.of(silent.cause()).kind()).isEqualTo(Failure.Kind.TIMEOUT);
      test.completeNow();
    }));
  }
}

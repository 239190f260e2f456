package dev.agenthub.agents;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

class SessionMailboxesTest {

  /** Work whose completion the test controls. */
  private static final class Gate {
    final List<String> started = new ArrayList<>();
    final List<Promise<String>> pending = new ArrayList<>();

    Supplier<Future<String>> work(String name) {
      return () -> {
        started.add(name);
        Promise<String> p = Promise.promise();
        pending.add(p);
        return p.future();
      };
    }

    void finish(String name) {
      int i = started.indexOf(name);
      pending.get(i).complete(name);
    }
  }

  @Test
  void oneTurnAtATimePerSessionInArrivalOrder() {
    SessionMailboxes boxes = new SessionMailboxes(10, 100);
    Gate gate = new Gate();
    List<String> done = new ArrayList<>();
    for (String name : List.of("a1", "a2", "a3")) {
      boxes.submit("a", gate.work(name)).onSuccess(done::add);
    }
    assertThat(gate.started).containsExactly("a1");
    gate.finish("a1");
    assertThat(gate.started).containsExactly("a1", "a2");
    gate.finish("a2");
    gate.finish("a3");
    assertThat(done).containsExactly("a1", "a2", "a3");
    assertThat(boxes.activeSessions()).isZero();
  }

  @Test
  void sessionsRunConcurrentlyUpToTheLimit() {
    SessionMailboxes boxes = new SessionMailboxes(2, 100);
    Gate gate = new Gate();
    boxes.submit("a", gate.work("a1"));
    boxes.submit("b", gate.work("b1"));
    boxes.submit("c", gate.work("c1"));
    assertThat(gate.started).containsExactly("a1", "b1");
    assertThat(boxes.running()).isEqualTo(2);
    assertThat(boxes.waiting()).isEqualTo(1);
    gate.finish("b1");
    assertThat(gate.started).containsExactly("a1", "b1", "c1");
  }

  @Test
  void theDepthCountsEveryTurnWaitingOrRunning() {
    SessionMailboxes boxes = new SessionMailboxes(1, 2);
    Gate gate = new Gate();
    boxes.submit("a", gate.work("a1"));
    boxes.submit("a", gate.work("a2"));
    boxes.submit("b", gate.work("b1"));
    assertThat(boxes.depth()).isEqualTo(3);
    boxes.submit("c", gate.work("c1"));
    assertThat(boxes.depth()).as("a refused turn is not counted").isEqualTo(3);
    gate.finish("a1");
    assertThat(boxes.depth()).isEqualTo(2);
    gate.finish(gate.started.get(1));
    gate.finish(gate.started.get(2));
    assertThat(boxes.depth()).isZero();
  }

  @Test
  void aFullQueueRefusesInsteadOfDropping() {
    SessionMailboxes boxes = new SessionMailboxes(1, 2);
    Gate gate = new Gate();
    boxes.submit("a", gate.work("a1"));
    Future<String> w1 = boxes.submit("b", gate.work("b1"));
    Future<String> w2 = boxes.submit("c", gate.work("c1"));
    Future<String> refused = boxes.submit("d", gate.work("d1"));
    assertThat(refused.failed()).isTrue();
    assertThat(refused.cause()).isInstanceOf(SessionMailboxes.QueueFullException.class);
    gate.finish("a1");
    gate.finish("b1");
    gate.finish("c1");
    assertThat(w1.result()).isEqualTo("b1");
    assertThat(w2.result()).isEqualTo("c1");
  }

  @Test
  void aFailedTurnDoesNotBlockTheSession() {
    SessionMailboxes boxes = new SessionMailboxes(4, 10);
    Future<String> failed = boxes.submit("a", () -> {
      throw new IllegalStateException("boom");
    });
    Future<String> next = boxes.submit("a", () -> Future.succeededFuture("ok"));
    assertThat(failed.failed()).isTrue();
    assertThat(next.result()).isEqualTo("ok");
    assertThat(boxes.running()).isZero();
  }
}

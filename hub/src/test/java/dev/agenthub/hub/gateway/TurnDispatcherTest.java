package dev.agenthub.hub.gateway;

import dev.agenthub.hub.cluster.ClusterView;
import dev.agenthub.hub.cluster.NodeEntry;
import dev.agenthub.hub.cluster.RendezvousRouter;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.Turn;

import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Where the gateway sends a turn, and when it sends it again: past an instance with no consumer, to
 * the new owner when the running node leaves, and to the owner again when the session moved under
 * the turn. Real Vert.x event bus; the agents are plain consumers (vertx-junit5).
 */
@ExtendWith(VertxExtension.class)
class TurnDispatcherTest {

  private static final NodeEntry N1 = new NodeEntry(null, "n1", List.of("general"), "http://127.0.0.1:1", "t");
  private static final NodeEntry N2 = new NodeEntry(null, "n2", List.of("general"), "http://127.0.0.1:2", "t");
  private static final List<NodeEntry.Placement> INSTANCES = List.of(new NodeEntry.Placement("ops", "ops-0", "n1"),
    new NodeEntry.Placement("ops", "ops-1", "n2"));

  /** The session's owner first, then the next in its ranking. */
  private static List<NodeEntry.Placement> ranked(String session) {
    return RendezvousRouter.rank(session, INSTANCES);
  }

  private static final byte[] SECRET = "turn-dispatcher-test".getBytes(StandardCharsets.UTF_8);
  private static final MessageAuth.Signer SIGNER = MessageAuth.Signer.of(SECRET, MessageAuth.nodePrincipal("n1"));
  private final MessageAuth.Verifier verifier = new MessageAuth.Verifier(SECRET);

  private JsonObject answer(Message<JsonObject> m, String by) {
    return new JsonObject().put("reply", "answered by " + by).put("key", m.body().getString("idempotency_key"))
      .put("resend", m.headers().contains("resend")).put("signed_by", verifier.verifyLocal(m));
  }

  @Test
  void anInstanceWithoutAConsumerIsSkippedForTheNextInTheRanking(Vertx vertx, VertxTestContext test) {
    List<NodeEntry.Placement> order = ranked("s1");
    // only the second in the ranking has a consumer
    vertx.eventBus().<JsonObject>consumer(Turn.address("ops", order.get(1).id()), m -> m.reply(answer(m, "second")));
    TurnDispatcher dispatcher = new TurnDispatcher(vertx, () -> new ClusterView(List.of(N1, N2), INSTANCES), 10_000,
      SIGNER);
    vertx.runOnContext(v -> dispatcher.dispatch("ops", Turn.Request.of("s1", "hi").build())
      .onComplete(test.succeeding(reply -> test.verify(() -> {
        assertThat(reply.getString("reply")).isEqualTo("answered by second");
        assertThat(reply.getBoolean("resend")).isFalse();
        assertThat(reply.getString("signed_by")).as("signed for the instance's own address").isEqualTo("node:n1");
        test.completeNow();
      }))));
  }

  @Test
  void aTurnWhoseNodeLeavesIsSentToTheNewOwnerWithTheSameKey(Vertx vertx, VertxTestContext test) {
    List<NodeEntry.Placement> order = ranked("s2");
    NodeEntry.Placement owner = order.get(0);
    NodeEntry.Placement next = order.get(1);
    List<String> keys = new CopyOnWriteArrayList<>();
    AtomicReference<ClusterView> view = new AtomicReference<>(new ClusterView(List.of(N1, N2), INSTANCES));
    TurnDispatcher dispatcher = new TurnDispatcher(vertx, view::get, 10_000, SIGNER);
    // the owner takes the turn and never answers (its node is about to die)
    vertx.eventBus().<JsonObject>consumer(Turn.address("ops", owner.id()), m -> {
      keys.add(m.body().getString("idempotency_key"));
      vertx.runOnContext(v -> {
        // its node leaves the cluster: the view no longer has it nor its instance
        NodeEntry survivor = owner.node().equals("n1") ? N2 : N1;
        view.set(new ClusterView(List.of(survivor), List.of(next)));
        dispatcher.resendOrphans();
      });
    });
    vertx.eventBus().<JsonObject>consumer(Turn.address("ops", next.id()), m -> {
      keys.add(m.body().getString("idempotency_key"));
      m.reply(answer(m, "the new owner"));
    });
    vertx.runOnContext(v -> dispatcher.dispatch("ops", Turn.Request.of("s2", "hello").build())
      .onComplete(test.succeeding(reply -> test.verify(() -> {
        assertThat(reply.getString("reply")).isEqualTo("answered by the new owner");
        assertThat(reply.getBoolean("resend")).as("marked as sent again").isTrue();
        assertThat(reply.getString("signed_by")).as("signed again for the new owner").isEqualTo("node:n1");
        // the same key both times: the new owner can tell it is the same turn
        assertThat(keys).hasSize(2).doesNotContainNull();
        assertThat(keys.get(0)).isEqualTo(keys.get(1));
        test.completeNow();
      }))));
  }

  @Test
  void aTurnWhoseSessionMovedGoesToTheOwnerAgainAsAResend(Vertx vertx, VertxTestContext test) {
    List<NodeEntry.Placement> order = ranked("s3");
    List<Boolean> resends = new CopyOnWriteArrayList<>();
    vertx.eventBus().<JsonObject>consumer(Turn.address("ops", order.get(0).id()), m -> {
      resends.add(m.headers().contains("resend"));
      if (resends.size() == 1) {
        m.reply(new Failure(Failure.Kind.SESSION_MOVED, "another instance claimed the session"));
      } else {
        m.reply(answer(m, "the owner"));
      }
    });
    TurnDispatcher dispatcher = new TurnDispatcher(vertx, () -> new ClusterView(List.of(N1, N2), INSTANCES), 10_000,
      SIGNER);
    vertx.runOnContext(v -> dispatcher.dispatch("ops", Turn.Request.of("s3", "again").build())
      .onComplete(test.succeeding(reply -> test.verify(() -> {
        assertThat(reply.getString("reply")).isEqualTo("answered by the owner");
        assertThat(resends).containsExactly(false, true);
        test.completeNow();
      }))));
  }
}

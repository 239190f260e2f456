package dev.agenthub.hub.gateway;

import dev.agenthub.config.ConfigLoader;
import dev.agenthub.config.HubConfig;
import dev.agenthub.hub.cluster.ClusterView;
import dev.agenthub.hub.cluster.NodeEntry;
import dev.agenthub.hub.cluster.RendezvousRouter;
import dev.agenthub.hub.metrics.HubMetrics;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.Hashes;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.Priority;
import dev.agenthub.protocol.Turn;
import dev.agenthub.testing.HubYaml;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.Checkpoint;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The node's one intake of turns, as every door uses it: who calls, the client's rate shared by the
 * doors, the turn built by name, and one dispatcher answering each door on its own context.
 */
@ExtendWith(VertxExtension.class)
class TurnIntakeTest {

  private static final HubConfig CONFIG = ConfigLoader.parse(HubYaml.yamlWithNode(
    "node: { name: n1, roles: [general], http: { port: 0, client-rps: 1 } }\n", 0, """
      clients:
        - { id: web, token-sha256: %s, agents: [ops] }
        - { id: other, token-sha256: %s, agents: [ops] }
      """.formatted(Hashes.sha256Hex("web-token"), Hashes.sha256Hex("other-token"))));
  private static final NodeEntry N1 = new NodeEntry(null, "n1", List.of("general"), "http://127.0.0.1:1", "t");
  private static final NodeEntry N2 = new NodeEntry(null, "n2", List.of("general"), "http://127.0.0.1:2", "t");
  private static final List<NodeEntry.Placement> INSTANCES = List.of(new NodeEntry.Placement("ops", "ops-0", "n1"),
    new NodeEntry.Placement("ops", "ops-1", "n2"));
  private static final MessageAuth.Signer SIGNER = MessageAuth.Signer.of(
    "turn-intake-test".getBytes(StandardCharsets.UTF_8), MessageAuth.nodePrincipal("n1"));

  private final AtomicReference<ClusterView> view = new AtomicReference<>(new ClusterView(List.of(N1, N2), INSTANCES));
  private TurnIntake intake;

  private TurnIntake intake(Vertx vertx) {
    intake = new TurnIntake(vertx, CONFIG, view::get, new HubMetrics(new SimpleMeterRegistry()), SIGNER);
    return intake;
  }

  @AfterEach
  void close() {
    if (intake != null) {
      intake.close();
    }
  }

  @Test
  void whoCallsIsCheckedOnceForEveryDoor(Vertx vertx) {
    TurnIntake intake = intake(vertx);
    assertThat(intake.admit("Bearer web-token", "ops")).isEqualTo("web");
    assertThatThrownBy(() -> intake.admit("Bearer nobody", "ops")).isInstanceOfSatisfying(Failure.class,
      f -> assertThat(f.kind()).isEqualTo(Failure.Kind.UNAUTHORIZED));
    assertThatThrownBy(() -> intake.admit("Bearer web-token", "assistant")).isInstanceOfSatisfying(Failure.class,
      f -> assertThat(f.kind()).isEqualTo(Failure.Kind.FORBIDDEN));
    assertThatThrownBy(() -> intake.admit("Bearer web-token", "nobody")).isInstanceOfSatisfying(Failure.class,
      f -> assertThat(f.kind()).isEqualTo(Failure.Kind.NOT_FOUND));
    // a door answers an unknown agent its own way (the OpenAI door: model_not_found), after the token
    assertThatThrownBy(() -> intake.admit("Bearer web-token", "nobody",
      () -> new Failure(Failure.Kind.MODEL_NOT_FOUND, "no model"))).isInstanceOfSatisfying(Failure.class,
      f -> assertThat(f.kind()).isEqualTo(Failure.Kind.MODEL_NOT_FOUND));
    assertThatThrownBy(() -> intake.admit("Bearer nobody", "nobody",
      () -> new Failure(Failure.Kind.MODEL_NOT_FOUND, "no model"))).isInstanceOfSatisfying(Failure.class,
      f -> assertThat(f.kind()).isEqualTo(Failure.Kind.UNAUTHORIZED));
  }

  @Test
  void aClientsRateIsOneBucketWhateverTheDoor(Vertx vertx) {
    TurnIntake intake = intake(vertx);
    // client-rps 1: a burst of two, then refused, whether the requests came over HTTP or the event bus
    intake.checkRate("web", "127.0.0.1");
    intake.checkRate("web", null);
    assertThatThrownBy(() -> intake.checkRate("web", "127.0.0.2")).isInstanceOfSatisfying(Failure.class, f -> {
      assertThat(f.kind()).isEqualTo(Failure.Kind.RATE_LIMITED);
      assertThat(f.retryAfterSeconds()).isPositive();
    });
    intake.checkRate("other", "127.0.0.1"); // another client has its own bucket
    intake.checkRate(null, "127.0.0.9"); // and so has an address that proves no client
  }

  @Test
  void aNativeMessageBecomesATurnByName() {
    Requests.AgentMessage message = Requests.AgentMessage.parse(new JsonObject().put("session", "s1").put("text", "hi")
      .put("idempotency_key", "k1").put("priority", "batch"));
    Turn.Request turn = TurnIntake.turn(message, "web");
    assertThat(turn).isEqualTo(Turn.Request.of("s1", "hi").idempotencyKey("k1").priority(Priority.BATCH).client("web")
      .build());
    assertThat(Turn.Request.fromJson(turn.toJson())).isEqualTo(turn);
  }

  @Test
  void turnsFromTwoDoorsAreAnsweredEachOnItsOwnContextAndAnOrphanIsSentAgainThere(Vertx vertx,
                                                                                  VertxTestContext test) {
    TurnIntake intake = intake(vertx);
    List<NodeEntry.Placement> order = RendezvousRouter.rank("web/s9", INSTANCES);
    String first = order.get(0).id();
    String second = order.get(1).id();
    // the owner takes the turn and never answers (its node is about to leave); the next one answers
    vertx.eventBus().<JsonObject>consumer(Turn.address("ops", first), m -> { });
    vertx.eventBus().<JsonObject>consumer(Turn.address("ops", second), m ->
      m.reply(new JsonObject().put("reply", "from " + second).put("resend", m.headers().contains("resend"))));
    Checkpoint answered = test.checkpoint(2);
    for (int door = 0; door < 2; door++) {
      Context context = vertx.getOrCreateContext();
      String session = "s" + (9 + door * 100);
      context.runOnContext(v -> intake.dispatch("ops", Turn.Request.of(session, "hi").client("web").build())
        .onComplete(test.succeeding(reply -> test.verify(() -> {
          assertThat(Vertx.currentContext()).as("answered on the dispatching door's context").isSameAs(context);
          assertThat(reply.getString("reply")).startsWith("from ");
          answered.flag();
        }))));
    }
    // the first turn's node leaves: the turn goes to the session's new owner, from its own context
    vertx.setTimer(500, id -> view.set(new ClusterView(List.of(order.get(1).node().equals("n1") ? N1 : N2),
      List.of(order.get(1)))));
  }
}

package dev.agenthub.hub.gateway;

import dev.agenthub.config.HubConfig;
import dev.agenthub.protocol.EventBusApi;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The bridge's decisions, frame by frame, without a network. */
class BridgeGuardTest {

  private static final BridgeGuard GUARD = new BridgeGuard(new ClientAuth(List.of(
    new HubConfig.Client("app", ClientAuth.sha256("app-token"), List.of("support"), false, false, false, null, 0))),
    Set.of("support", "ops"), 60_000);

  private static JsonObject send(String address, JsonObject headers) {
    return new JsonObject().put("type", "send").put("address", address).put("replyAddress", "r1")
      .put("headers", headers).put("body", new JsonObject().put("session", "s").put("text", "t"));
  }

  @Test
  void aRequestToAnAgentGoesOnToThisNodeOnlyWithTheApiHeadersAlone() {
    JsonObject frame = send("agenthub.agents.support", new JsonObject().put("authorization", "Bearer app-token")
      .put("localOnly", false).put("codecName", "evil").put("timeout", 10L * 24 * 3600 * 1000).put("x-other", "y"));
    assertThat(GUARD.check(BridgeFrames.Type.SEND, frame, true).allowed()).isTrue();
    JsonObject headers = frame.getJsonObject("headers");
    assertThat(headers.getBoolean("localOnly")).isTrue();
    assertThat(headers.getLong("timeout")).isEqualTo(3_600_000L);
    assertThat(headers.fieldNames()).containsExactlyInAnyOrder("authorization", "localOnly", "timeout",
      BridgeGuard.DOOR_HEADER);
  }

  @Test
  void everythingElseIsRefused() {
    JsonObject auth = new JsonObject().put("authorization", "Bearer app-token");
    assertThat(GUARD.check(BridgeFrames.Type.SEND, send("memory.read", auth), true).status()).isEqualTo(403);
    assertThat(GUARD.check(BridgeFrames.Type.SEND, send("agenthub.agents.nobody", auth), true).status()).isEqualTo(404);
    assertThat(GUARD.check(BridgeFrames.Type.SEND, send("agenthub.agents.support", auth).put("replyAddress", null),
      true).status()).isEqualTo(400);
    assertThat(GUARD.check(BridgeFrames.Type.PUBLISH, send("agenthub.agents.support", auth), true).allowed()).isFalse();
    JsonObject foreign = send("agenthub.agents.support", auth.copy()
      .put("stream-to", EventBusApi.streamAddress("other-token", "s")));
    assertThat(GUARD.check(BridgeFrames.Type.SEND, foreign, true).status()).isEqualTo(403);
    for (String address : List.of("memory.changed", "agenthub.agents.support",
      EventBusApi.streamAddress("other-token", "s"), EventBusApi.streamAddress("app-token", "bad id!"))) {
      JsonObject register = new JsonObject().put("type", "register").put("address", address).put("headers", auth);
      assertThat(GUARD.check(BridgeFrames.Type.REGISTER, register, true).allowed()).as(address).isFalse();
    }
    JsonObject unknownToken = new JsonObject().put("type", "register")
      .put("address", EventBusApi.streamAddress("guess", "s")).put("headers", new JsonObject()
        .put("authorization", "Bearer guess"));
    assertThat(GUARD.check(BridgeFrames.Type.REGISTER, unknownToken, true).status()).isEqualTo(401);
    JsonObject own = new JsonObject().put("type", "register").put("address", EventBusApi.streamAddress("app-token", "s"))
      .put("headers", auth);
    assertThat(GUARD.check(BridgeFrames.Type.REGISTER, own, true).allowed()).isTrue();
  }

  @Test
  void aHubWithoutClientsAnswersOnlyItsOwnMachine() {
    BridgeGuard open = new BridgeGuard(new ClientAuth(List.of()), Set.of("support"), 60_000);
    JsonObject frame = send("agenthub.agents.support", new JsonObject());
    assertThat(open.check(BridgeFrames.Type.SEND, frame.copy(), true).allowed()).isTrue();
    assertThat(open.check(BridgeFrames.Type.SEND, frame.copy(), false).status()).isEqualTo(401);
    assertThat(open.check(BridgeFrames.Type.PING, new JsonObject(), false).allowed()).isFalse();
  }
}

package dev.agenthub.hub.cluster;

import dev.agenthub.devtools.platforms.TelegramStandIn;
import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A Telegram channel in polling mode on two nodes: one poller at a time (the stand-in refuses two
 * with 409, and counts them), every update answered once, and when the polling node leaves the other
 * takes over and the updates that come after are answered once too.
 */
class ChannelFailoverTest {

  private static final String TOKEN = "999:poll-token";

  @Test
  void oneNodePollsAndTheOtherTakesOverWithoutLosingOrRepeatingAnUpdate() throws Exception {
    Vertx platform = Vertx.vertx();
    TelegramStandIn telegram = new TelegramStandIn(platform, TOKEN);
    String base = telegram.start().await(30, TimeUnit.SECONDS);
    String cluster = "chf-" + UUID.randomUUID();
    int port = Fixtures.randomBasePort();
    Path dir = Fixtures.freshDir();
    String extra = HubYaml.clusterYaml(cluster, port) + HubYaml.memoryYaml(dir) + """
      channels:
        - { id: tg-poll, type: telegram, agent: support, token: "%s", mode: polling, api-base: "%s" }
      """.formatted(TOKEN, base);
    HubNode first = TestHub.start(HubYaml.yamlWithNode(HubYaml.node("cf1", "general"), 0, extra));
    HubNode second = null;
    try {
      second = TestHub.start(HubYaml.yamlWithNode(HubYaml.node("cf2", "general"), 0, extra));
      for (int i = 1; i <= 20; i++) {
        telegram.push(update(i, 5000 + i));
      }
      Fixtures.await("20 answers", Duration.ofSeconds(120), () -> telegram.sent().size() >= 20);
      assertThat(telegram.conflicts()).as("two pollers at once").isZero();

      JsonObject lease = first.vertx().sharedData().<String, JsonObject>getAsyncMap("agenthub.channels.pollers")
        .compose(m -> m.get("tg-poll")).await(30, TimeUnit.SECONDS);
      HubNode poller = lease.getString("node").equals("cf1") ? first : second;
      poller.close().await(1, TimeUnit.MINUTES);
      for (int i = 21; i <= 40; i++) {
        telegram.push(update(i, 5000 + i));
      }
      Fixtures.await("40 answers", Duration.ofSeconds(120), () -> telegram.sent().size() >= 40);
      Thread.sleep(3_000);
      Map<String, Long> perChat = telegram.sent().stream().collect(Collectors.groupingBy(
        m -> m.getValue("chat_id").toString(), Collectors.counting()));
      assertThat(perChat).hasSize(40);
      assertThat(perChat.values()).allMatch(n -> n == 1);
      assertThat(telegram.tooMany()).isZero();
    } finally {
      if (second != null) {
        second.close().await(1, TimeUnit.MINUTES);
      }
      first.close().await(1, TimeUnit.MINUTES);
      platform.close().await(30, TimeUnit.SECONDS);
    }
  }

  private static JsonObject update(long id, long chat) {
    return new JsonObject().put("update_id", id).put("message", new JsonObject().put("message_id", id)
      .put("from", new JsonObject().put("id", chat).put("is_bot", false).put("first_name", "P" + id))
      .put("chat", new JsonObject().put("id", chat).put("type", "private")).put("date", 1_700_000_000)
      .put("text", "question " + id));
  }
}

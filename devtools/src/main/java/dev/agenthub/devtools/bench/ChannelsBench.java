package dev.agenthub.devtools.bench;

import dev.agenthub.devtools.platforms.SlackStandIn;
import dev.agenthub.devtools.platforms.TelegramStandIn;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

/**
 * {@code bench channels}: the channels' door on real nodes (separate JVMs) against the platform
 * stand-ins in this JVM. (1) Slack events from 1,000 channels posted as fast as 64 connections
 * take them: accepted per second and the acknowledgement's latency (what Slack waits 3 s for), then
 * the time until every one is answered and the 429s the platform gave. (2) One Telegram message to
 * each of 500 chats at once: answered, with the 429s Telegram gave. (3) Two nodes, 100 chats posted
 * to one of them with a 3 s model, that node SIGKILLed once they are acknowledged: replies per
 * message. Asserts nothing.
 */
final class ChannelsBench {

  private static final String SIGNING = "bench-signing-secret";
  private static final String SLACK_TOKEN = "xoxb-bench";
  private static final String TG_TOKEN = "1:bench";
  private static final String TG_SECRET = "bench-secret";

  private ChannelsBench() {
  }

  static void run(PrintStream out, int updates, int concurrency) throws Exception {
    out.printf("scenario channels: %d cores%n", Runtime.getRuntime().availableProcessors());
    Vertx vertx = Vertx.vertx();
    try {
      SlackStandIn slack = new SlackStandIn(vertx, SLACK_TOKEN);
      TelegramStandIn telegram = new TelegramStandIn(vertx, TG_TOKEN);
      String slackBase = slack.start().await(30, TimeUnit.SECONDS);
      String tgBase = telegram.start().await(30, TimeUnit.SECONDS);
      ingest(out, vertx, slack, slackBase, tgBase, telegram, updates, concurrency);
      kill(out, vertx, slackBase, tgBase);
    } finally {
      vertx.close().await(1, TimeUnit.MINUTES);
    }
  }

  private static String channels(String slackBase, String tgBase) {
    return """
      channels:
        - { id: slack-b, type: slack, agent: support, token: "%s", signing-secret: "%s", api-base: "%s" }
        - { id: tg-b, type: telegram, agent: support, token: "%s", mode: webhook, secret: "%s",
            public-url: "https://hub.example", api-base: "%s" }
      """.formatted(SLACK_TOKEN, SIGNING, slackBase, TG_TOKEN, TG_SECRET, tgBase);
  }

  private static void ingest(PrintStream out, Vertx vertx, SlackStandIn slack, String slackBase, String tgBase,
                             TelegramStandIn telegram, int updates, int concurrency) throws Exception {
    Path dir = Files.createTempDirectory("agenthub-bench-channels");
    List<Process> nodes = new ArrayList<>();
    try {
      int port = MessageBench.freePort();
      nodes.add(MessageBench.startNode(dir, "c1", "general", false, "bench-" + UUID.randomUUID(),
        21_000 + (int) (Math.random() * 200) * 50, port, dir.resolve("memory"), 0, channels(slackBase, tgBase), Map.of()));
      MessageBench.waitReady(port, 1);
      HttpClientAgent http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(concurrency));
      String run = Long.toString(System.nanoTime(), 36);
      Histogram acks = new Histogram(TimeUnit.MINUTES.toNanos(1), 3);
      long t0 = System.nanoTime();
      int failed = post(http, port, "slack-b", updates, concurrency, acks, i -> {
        String body = new JsonObject().put("type", "event_callback").put("event_id", "Ev" + run + "-" + i)
          .put("event", new JsonObject().put("type", "message").put("channel_type", "im").put("channel", "D" + (i % 1000))
            .put("user", "U" + (i % 1000)).put("text", "question " + i).put("ts", "1700000000." + i)).encode();
        return new Posted(body, SlackStandIn.sign(SIGNING, body, System.currentTimeMillis() / 1000));
      });
      double seconds = (System.nanoTime() - t0) / 1e9;
      out.printf("  Slack events from 1,000 channels, %d connections: %,d accepted in %.1f s = %,.0f /s; ack p50 %.1f ms,"
        + " p99 %.1f ms, max %.1f ms; %d not 200%n", concurrency, updates - failed, seconds, (updates - failed) / seconds,
        acks.getValueAtPercentile(50) / 1e6, acks.getValueAtPercentile(99) / 1e6, acks.getMaxValue() / 1e6, failed);
      long answered = waitFor(() -> slack.posted().size(), updates - failed, 600);
      out.printf("  answered %,d of %,d in %.1f s after the last acknowledgement; 429s from Slack: %d%n", answered,
        updates - failed, (System.nanoTime() - t0) / 1e9 - seconds, slack.tooMany());

      long b0 = System.nanoTime();
      int burstFailed = post(http, port, "tg-b", 500, 64, new Histogram(3), i -> {
        String body = new JsonObject().put("update_id", 1_000_000 + i).put("message", new JsonObject()
          .put("message_id", i).put("from", new JsonObject().put("id", 7_000 + i).put("is_bot", false))
          .put("chat", new JsonObject().put("id", 7_000 + i).put("type", "private")).put("date", 1_700_000_000)
          .put("text", "burst " + i)).encode();
        return new Posted(body, Map.of("X-Telegram-Bot-Api-Secret-Token", TG_SECRET));
      });
      long burstAnswered = waitFor(() -> telegram.sent().size(), 500 - burstFailed, 300);
      out.printf("  Telegram: one message to each of 500 chats at once: %d answered in %.1f s; 429s from Telegram: %d%n",
        burstAnswered, (System.nanoTime() - b0) / 1e9, telegram.tooMany());
    } finally {
      MessageBench.stop(nodes);
    }
  }

  private static void kill(PrintStream out, Vertx vertx, String slackBase, String tgBase) throws Exception {
    Path dir = Files.createTempDirectory("agenthub-bench-channels-kill");
    TelegramStandIn telegram = new TelegramStandIn(vertx, TG_TOKEN);
    String base = telegram.start().await(30, TimeUnit.SECONDS);
    List<Process> nodes = new ArrayList<>();
    try {
      String cluster = "bench-" + UUID.randomUUID();
      int basePort = 21_000 + (int) (Math.random() * 200) * 50;
      int p1 = MessageBench.freePort();
      int p2 = MessageBench.freePort();
      Path memory = dir.resolve("memory");
      nodes.add(MessageBench.startNode(dir, "k1", "general", true, cluster, basePort, p1, memory, 3_000,
        channels(slackBase, base), Map.of()));
      MessageBench.waitReady(p1, 1);
      nodes.add(MessageBench.startNode(dir, "k2", "general", true, cluster, basePort, p2, memory, 3_000,
        channels(slackBase, base), Map.of()));
      MessageBench.waitReady(p1, 2);
      MessageBench.waitReady(p2, 2);
      HttpClientAgent http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(16));
      int failed = post(http, p1, "tg-b", 100, 16, new Histogram(3), i -> {
        String body = new JsonObject().put("update_id", 2_000_000 + i).put("message", new JsonObject()
          .put("message_id", i).put("from", new JsonObject().put("id", 9_000 + i).put("is_bot", false))
          .put("chat", new JsonObject().put("id", 9_000 + i).put("type", "private")).put("date", 1_700_000_000)
          .put("text", "before the kill " + i)).encode();
        return new Posted(body, Map.of("X-Telegram-Bot-Api-Secret-Token", TG_SECRET));
      });
      int before = telegram.sent().size();
      nodes.get(0).destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      long k0 = System.nanoTime();
      waitFor(() -> telegram.sent().size(), 100 - failed, 180);
      Thread.sleep(5_000);
      Map<String, Long> perChat = telegram.sent().stream().collect(Collectors.groupingBy(
        m -> m.getValue("chat_id").toString(), Collectors.counting()));
      long once = perChat.values().stream().filter(n -> n == 1).count();
      long twice = perChat.values().stream().filter(n -> n > 1).count();
      out.printf("  100 chats acknowledged by node 1 (3 s model), node 1 SIGKILLed with %d answered: %d chats answered "
        + "once, %d more than once, %d not at all, %.1f s after the kill; %d not acknowledged%n", before, once, twice,
        100 - failed - perChat.size(), (System.nanoTime() - k0) / 1e9, failed);
    } finally {
      MessageBench.stop(nodes);
      telegram.close();
    }
  }

  private record Posted(String body, Map<String, String> headers) {
  }

  /** Posts {@code n} webhooks with {@code c} in flight; answers how many were not 200. */
  private static int post(HttpClientAgent http, int port, String channel, int n, int c, Histogram h,
                          IntFunction<Posted> make) throws Exception {
    AtomicInteger next = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    List<Future<Void>> loops = new ArrayList<>();
    for (int k = 0; k < c; k++) {
      Promise<Void> done = Promise.promise();
      loop(http, port, channel, n, next, failed, h, make, done);
      loops.add(done.future());
    }
    Future.all(loops).await(10, TimeUnit.MINUTES);
    return failed.get();
  }

  private static void loop(HttpClientAgent http, int port, String channel, int n, AtomicInteger next,
                           AtomicInteger failed, Histogram h, IntFunction<Posted> make, Promise<Void> done) {
    int i = next.getAndIncrement();
    if (i >= n) {
      done.tryComplete();
      return;
    }
    Posted p = make.apply(i);
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(port)
      .setURI("/channels/" + channel).putHeader("Content-Type", "application/json").setTimeout(30_000);
    p.headers().forEach(options::putHeader);
    long t0 = System.nanoTime();
    http.request(options).compose(req -> req.send(Buffer.buffer(p.body()))).compose(resp -> resp.body()
      .map(b -> resp.statusCode())).onComplete(ar -> {
        synchronized (h) {
          h.recordValue(Math.min(System.nanoTime() - t0, TimeUnit.MINUTES.toNanos(1)));
        }
        if (ar.failed() || ar.result() != 200) {
          failed.incrementAndGet();
        }
        loop(http, port, channel, n, next, failed, h, make, done);
      });
  }

  private static long waitFor(LongSupplier count, long target, int seconds) throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < end && count.getAsLong() < target) {
      Thread.sleep(100);
    }
    return count.getAsLong();
  }
}

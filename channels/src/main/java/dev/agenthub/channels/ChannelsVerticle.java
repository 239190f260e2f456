package dev.agenthub.channels;

import dev.agenthub.config.HubConfig;
import dev.agenthub.memory.MemoryClient;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * The node's channels: every webhook a platform posts to {@code POST /channels/<id>} (the gateway
 * hands it here on {@link #INBOUND}) is checked (signature or secret token: 401), made plain
 * ({@link SlackWire}, {@link TelegramWire}), taken once across the cluster (a map of seen ids, then
 * the durable inbox entry under the delivery's id: {@link Deliveries}), acknowledged, and answered: a
 * turn of the chat's session as the channel's client, its reply sent through the {@link Outbox} and
 * recorded as sent. What a node took and did not answer is taken over by another node when its lease
 * runs out, and answered once.
 */
public final class ChannelsVerticle extends VerticleBase {

  /** Local address: {@code {channel, headers, body}} from the gateway, answered {@code {status, body}}. */
  public static final String INBOUND = "channels.inbound";
  static final long SWEEP_MS = 5_000;
  static final String POLITE = "Sorry, I could not answer that just now. Please try again in a moment.";
  private static final Logger LOG = Logger.getLogger(ChannelsVerticle.class.getName());

  private final HubConfig config;
  private final ChannelIntake intake;
  private final Function<Vertx, MemoryClient> memoryFactory;
  private final ChannelEvents events;
  private final Map<String, String> env;
  private final Map<String, HubConfig.Channel> channels = new HashMap<>();
  private final Map<String, String> tokens = new HashMap<>();
  private final Map<String, String> secrets = new HashMap<>();
  private final Map<String, String> botUsers = new HashMap<>();
  private final String me = UUID.randomUUID().toString();
  private final List<TelegramPoller> pollers = new ArrayList<>();
  private Deliveries deliveries;
  private Outbox outbox;
  private MessageConsumer<JsonObject> consumer;
  private long sweep;

  /**
   * @param memory makes the client the inbox and outbox entries are written with (as the hub itself)
   * @param env    where the tokens' and secrets' {@code secret-env} are read
   */
  public ChannelsVerticle(HubConfig config, ChannelIntake intake, Function<Vertx, MemoryClient> memory, ChannelEvents events,
                          Map<String, String> env) {
    this.config = config;
    this.intake = intake;
    this.memoryFactory = memory;
    this.events = events;
    this.env = Map.copyOf(env);
  }

  @Override
  public Future<?> start() {
    try {
      for (HubConfig.Channel c : config.channels()) {
        String field = "channels[" + c.id() + "]";
        channels.put(c.id(), c);
        tokens.put(c.id(), c.token().resolve(field + ".token", env));
        HubConfig.Value secret = c.type() == HubConfig.ChannelType.SLACK ? c.signingSecret() : c.secret();
        if (secret != null) {
          secrets.put(c.id(), secret.resolve(field + (c.type() == HubConfig.ChannelType.SLACK ? ".signing-secret"
            : ".secret"), env));
        }
      }
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    deliveries = new Deliveries(vertx, memoryFactory.apply(vertx), events, me);
    HttpClient http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setConnectTimeout(10_000),
      new PoolOptions().setHttp1MaxSize(64));
    outbox = new Outbox(vertx, http, events);
    consumer = vertx.eventBus().localConsumer(INBOUND, this::onInbound);
    sweep = vertx.setPeriodic(SWEEP_MS, id -> takeOver());
    return consumer.completion().compose(v -> Future.join(config.channels().stream().map(this::register).toList()))
      .onSuccess(v -> config.channels().stream().filter(c -> c.type() == HubConfig.ChannelType.TELEGRAM
        && c.mode().equals("polling")).forEach(c -> {
          TelegramPoller poller = new TelegramPoller(vertx, c, tokens.get(c.id()), outbox, me, config.node().name(),
            deliveries::take, ask -> answerIt(c, ask), events);
          pollers.add(poller);
          poller.start();
        }));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(sweep);
    pollers.forEach(TelegramPoller::stop);
    return consumer.unregister();
  }

  /** At start: Telegram learns where to post (setWebhook), Slack who the bot is (its own messages are ignored). */
  private Future<Void> register(HubConfig.Channel c) {
    Future<JsonObject> done;
    if (c.type() == HubConfig.ChannelType.TELEGRAM && c.mode().equals("webhook")) {
      done = outbox.call(c, tokens.get(c.id()), "setWebhook", TelegramWire.setWebhook(
        c.publicUrl().replaceAll("/$", "") + "/channels/" + c.id(), secrets.get(c.id())));
    } else if (c.type() == HubConfig.ChannelType.SLACK) {
      done = outbox.call(c, tokens.get(c.id()), "auth.test", new JsonObject()).onSuccess(r -> {
        if (r.getString("user_id") != null) {
          botUsers.put(c.id(), r.getString("user_id"));
        }
      });
    } else {
      done = Future.succeededFuture();
    }
    // a platform that cannot be reached now does not stop the node: its webhook keeps working
    return done.<Void>mapEmpty().recover(err -> {
      LOG.warning("channel " + c.id() + ": " + err.getMessage());
      return Future.succeededFuture();
    });
  }

  private void onInbound(Message<JsonObject> message) {
    JsonObject in = message.body();
    HubConfig.Channel channel = channels.get(in.getString("channel", ""));
    if (channel == null) {
      answer(message, 404, new JsonObject().put("error", "no such channel"));
      return;
    }
    MultiMap headers = MultiMap.caseInsensitiveMultiMap();
    in.getJsonObject("headers", new JsonObject()).forEach(e -> headers.add(e.getKey(), String.valueOf(e.getValue())));
    Buffer body = Buffer.buffer(in.getString("body", ""));
    boolean slack = channel.type() == HubConfig.ChannelType.SLACK;
    boolean verified = slack ? SlackWire.verified(headers, body, secrets.get(channel.id()),
      System.currentTimeMillis() / 1000) : TelegramWire.verified(headers.get(TelegramWire.SECRET_HEADER),
      secrets.getOrDefault(channel.id(), ""));
    if (!verified || !slack && channel.mode().equals("polling")) {
      events.channelMessage(channel.id(), "in", "refused");
      events.audit("channel_refused", new JsonObject().put("channel", channel.id())
        .put("reason", slack ? "bad, missing or stale signature" : "bad or missing secret token"));
      answer(message, 401, new JsonObject().put("error", "unauthorized"));
      return;
    }
    JsonObject json;
    try {
      json = new JsonObject(body);
    } catch (RuntimeException e) {
      answer(message, 400, new JsonObject().put("error", "not JSON"));
      return;
    }
    if (slack && "url_verification".equals(json.getString("type"))) {
      answer(message, 200, new JsonObject().put("challenge", json.getString("challenge", "")));
      return;
    }
    Inbound ask = slack ? SlackWire.ask(channel.id(), json, botUsers.get(channel.id()))
      : TelegramWire.ask(channel.id(), json);
    if (ask == null) {
      events.channelMessage(channel.id(), "in", "ignored");
      answer(message, 200, new JsonObject());
      return;
    }
    if (!channel.allows(ask.chat(), ask.user())) {
      events.channelMessage(channel.id(), "in", "ignored");
      events.audit("channel_ignored", new JsonObject().put("channel", channel.id()).put("chat", ask.chat())
        .put("user", ask.user()).put("reason", "not in allow-from"));
      answer(message, 200, new JsonObject());
      return;
    }
    deliveries.take(ask).onComplete(ar -> {
      if (ar.failed()) {
        // not durable: the platform is told so and delivers it again
        LOG.warning("channel " + channel.id() + ": could not take a message (" + ar.cause().getMessage() + ")");
        answer(message, 503, new JsonObject().put("error", "try again"));
        return;
      }
      answer(message, 200, new JsonObject());
      if (ar.result()) {
        answerIt(channel, ask);
      }
    });
  }

  /** The turn, then the reply once: the sent record is checked first, written right after the platform's 200. */
  private void answerIt(HubConfig.Channel channel, Inbound ask) {
    String key = Deliveries.key(ask);
    boolean slack = channel.type() == HubConfig.ChannelType.SLACK;
    long renew = deliveries.renewing(ask);
    if (!slack) {
      outbox.call(channel, tokens.get(channel.id()), "sendChatAction", new JsonObject().put("chat_id", ask.chat())
        .put("action", "typing")).onFailure(err -> { });
    }
    Turn.Request request = Turn.Request.of(ask.session(slack), ask.text()).idempotencyKey("channel-" + key)
      .client(channel.client()).build();
    String agent = channel.agentFor(ask.chat(), ask.user());
    intake.ask(channel.client(), agent, request)
      .map(reply -> reply.getString("reply", ""))
      .recover(err -> {
        Failure f = Failure.from(err, Failure.Kind.INTERNAL, "the agent failed");
        LOG.info("channel " + channel.id() + ": the turn failed (" + f.kind().id() + "); a polite reply goes instead");
        return Future.succeededFuture(POLITE);
      })
      .compose(text -> deliveries.sent(ask).compose(already -> already ? Future.succeededFuture()
        : outbox.reply(channel, tokens.get(channel.id()), ask, text).compose(v -> deliveries.recordSent(ask))))
      .onComplete(ar -> {
        vertx.cancelTimer(renew);
        if (ar.succeeded()) {
          deliveries.done(ask);
        } else {
          events.channelMessage(channel.id(), "out", "failed");
          LOG.warning("channel " + channel.id() + ": the reply was not sent (" + ar.cause().getMessage()
            + "); it is tried again when its lease runs out");
        }
      });
  }

  /** Deliveries another node took and did not answer (it died, or its send failed): this node answers them. */
  private void takeOver() {
    deliveries.takeOver(ask -> {
      HubConfig.Channel channel = channels.get(ask.channel());
      if (channel != null) {
        LOG.info("channel " + channel.id() + ": answering a message another node took and did not answer");
        answerIt(channel, ask);
      }
    });
  }

  private static void answer(Message<JsonObject> message, int status, JsonObject body) {
    message.reply(new JsonObject().put("status", status).put("body", body));
  }
}

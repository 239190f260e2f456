package dev.agenthub.examples;

import dev.agenthub.client.AgentHubClient;
import dev.agenthub.client.AgentHubException;
import dev.agenthub.client.Reply;

import com.hazelcast.config.Config;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A complete application that talks to agenthub's agents over the event bus. It joins the hub's
 * cluster as a Hazelcast lite member (it holds no cluster data and the hub never places agents on
 * it), sends messages to an agent, streams one answer, and leaves.
 *
 * <pre>
 * java -cp agenthub.jar:eventbus-app.jar dev.agenthub.examples.EventBusApp \
 *   --cluster agenthub --members 127.0.0.1:5701,127.0.0.1:5702 --host 127.0.0.1 \
 *   --token "$AGENTHUB_TOKEN" --agent support --messages 100
 * </pre>
 *
 * Exits 0 when every message was answered, 1 otherwise.
 */
public final class EventBusApp {

  // Hazelcast's start-up banner and member lists go to java.util.logging at INFO: keep warnings only
  private static final Logger HAZELCAST_LOG = Logger.getLogger("com.hazelcast");

  private EventBusApp() {
  }

  public static void main(String[] args) throws Exception {
    String cluster = "agenthub";
    String members = "127.0.0.1:5701";
    String host = "127.0.0.1";
    String token = System.getenv("AGENTHUB_TOKEN");
    String agent = "support";
    int messages = 10;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--cluster" -> cluster = args[++i];
        case "--members" -> members = args[++i];
        case "--host" -> host = args[++i];
        case "--token" -> token = args[++i];
        case "--agent" -> agent = args[++i];
        case "--messages" -> messages = Integer.parseInt(args[++i]);
        default -> {
          System.err.println("usage: EventBusApp [--cluster NAME] [--members HOST:PORT,...] [--host BIND_ADDRESS]"
            + " [--token TOKEN] [--agent ID] [--messages N]");
          System.exit(2);
        }
      }
    }

    // 1. join the cluster as a lite member: the same cluster name and members as the hub's nodes
    Config hazelcast = ConfigUtil.loadConfig(); // the maps Vert.x needs
    hazelcast.setClusterName(cluster);
    hazelcast.setLiteMember(true);
    hazelcast.setProperty("hazelcast.phone.home.enabled", "false");
    hazelcast.setProperty("hazelcast.logging.type", "jdk");
    HAZELCAST_LOG.setLevel(Level.WARNING);
    hazelcast.setProperty("hazelcast.local.localAddress", host);
    hazelcast.getNetworkConfig().getInterfaces().setEnabled(true).addInterface(host);
    hazelcast.getNetworkConfig().getJoin().getMulticastConfig().setEnabled(false);
    var tcp = hazelcast.getNetworkConfig().getJoin().getTcpIpConfig().setEnabled(true);
    for (String member : members.split(",")) {
      tcp.addMember(member.trim());
    }
    Vertx vertx = Vertx.builder()
      .with(new VertxOptions().setEventBusOptions(new EventBusOptions().setHost(host)))
      .withClusterManager(new HazelcastClusterManager(hazelcast))
      .buildClustered().await(2, TimeUnit.MINUTES);

    int failed = 0;
    try {
      // 2. talk to an agent: each message is answered by the instance that owns its session
      AgentHubClient hub = AgentHubClient.create(vertx, new AgentHubClient.Options().setToken(token));
      List<Future<Reply>> replies = new ArrayList<>();
      for (int i = 0; i < messages; i++) {
        replies.add(hub.send(agent, "app-session-" + (i % 10), "Question " + i + ": where is my parcel?"));
      }
      Future.join(replies).await(5, TimeUnit.MINUTES);
      for (Future<Reply> r : replies) {
        if (r.failed()) {
          failed++;
          AgentHubException e = AgentHubException.of(r.cause(), agent);
          System.out.println("failed: " + e.status() + " " + e.type() + ": " + e.getMessage());
        }
      }
      System.out.println("answered " + (messages - failed) + " of " + messages + " messages");
      if (messages > 0 && replies.get(0).succeeded()) {
        System.out.println("first reply: " + replies.get(0).result().text());
      }

      // 3. stream one answer: its pieces as the model writes them, then the whole reply
      if (messages > 0) {
        AgentHubClient.DeltaStream stream = hub.stream(agent,
          new AgentHubClient.Request("app-stream", "Tell me about delivery times"));
        StringBuilder text = new StringBuilder();
        stream.handler(piece -> {
          text.append(piece);
          System.out.print(piece);
        });
        try {
          Reply reply = stream.reply().await(2, TimeUnit.MINUTES);
          System.out.println();
          System.out.println("streamed " + reply.outputTokens() + " tokens from " + reply.model());
        } catch (AgentHubException e) {
          failed++;
          System.out.println("stream failed: " + e.status() + " " + e.getMessage());
        }
      }
    } finally {
      // 4. leave: the hub carries on as before
      vertx.close().await(1, TimeUnit.MINUTES);
    }
    System.exit(failed == 0 ? 0 : 1);
  }
}

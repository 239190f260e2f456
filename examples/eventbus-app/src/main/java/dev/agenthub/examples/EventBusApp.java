package dev.agenthub.examples;

import dev.agenthub.client.AgentHubClient;
import dev.agenthub.client.AgentHubException;
import dev.agenthub.client.Reply;

import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A complete application that talks to agenthub's agents through the hub nodes' event-bus bridges
 * ({@code node.bridge}): it is no member of the cluster, holds no secret but its client token, and
 * reaches only the agents that token allows. It sends messages to an agent, streams one answer, and
 * stops.
 *
 * <pre>
 * java -cp agenthub.jar:eventbus-app.jar dev.agenthub.examples.EventBusApp \
 *   --bridge 127.0.0.1:7000,127.0.0.1:7001 --token "$AGENTHUB_TOKEN" --ca ca.pem --agent support --messages 100
 * </pre>
 *
 * Exits 0 when every message was answered, 1 otherwise, 2 on bad options.
 */
public final class EventBusApp {

  private EventBusApp() {
  }

  public static void main(String[] args) throws Exception {
    List<String> bridges = List.of("127.0.0.1:7000");
    String token = System.getenv("AGENTHUB_TOKEN");
    String ca = null;
    String agent = "support";
    int messages = 10;
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--bridge" -> bridges = List.of(args[++i].split(","));
          case "--token" -> token = args[++i];
          case "--ca" -> ca = args[++i];
          case "--agent" -> agent = args[++i];
          case "--messages" -> messages = Integer.parseInt(args[++i]);
          default -> throw new IllegalArgumentException("unknown option " + args[i]);
        }
      }
    } catch (RuntimeException e) {
      System.err.println("EventBusApp: " + e.getMessage());
      System.err.println("usage: EventBusApp [--bridge HOST:PORT,...] [--token TOKEN] [--ca CA.pem] [--agent ID]"
        + " [--messages N]");
      System.exit(2);
    }

    // 1. a plain Vert.x: the client connects to the first bridge that answers, and fails over to the next
    Vertx vertx = Vertx.vertx();
    AgentHubClient hub = AgentHubClient.create(vertx, new AgentHubClient.Options()
      .setBridges(bridges.stream().map(String::trim).toList()).setToken(token).setCaFile(ca));
    int failed = 0;
    try {
      // 2. talk to an agent: each message is answered by the instance that owns its session
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
      // 4. stop: the hub carries on as before
      hub.close().await(1, TimeUnit.MINUTES);
      vertx.close().await(1, TimeUnit.MINUTES);
    }
    System.exit(failed == 0 ? 0 : 1);
  }
}

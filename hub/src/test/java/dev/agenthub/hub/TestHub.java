package dev.agenthub.hub;

import dev.agenthub.client.LiteMember;
import dev.agenthub.config.ConfigLoader;
import dev.agenthub.config.HubConfig;
import dev.agenthub.config.Secrets;
import dev.agenthub.testing.Fixtures;

import com.hazelcast.config.Config;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.spi.cluster.ClusterManager;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Test support: configurations, nodes and an HTTP client, all on 127.0.0.1. */
public final class TestHub {

  public static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
    .connectTimeout(Duration.ofSeconds(10)).build();

  private TestHub() {
  }

  /** The cluster secret of test nodes (each test cluster also has a name and ports of its own). */
  public static final String SECRET = "agenthub-test-cluster-secret";

  public static HubNode start(String yaml) throws Exception {
    return start(yaml, SECRET);
  }

  /** A node with the cluster secret {@code secret}. */
  public static HubNode start(String yaml, String secret) throws Exception {
    HubConfig config = ConfigLoader.parse(yaml);
    return HubNode.start(config, Secrets.load(config, System.getenv()), secret.getBytes(StandardCharsets.UTF_8))
      .await(2, TimeUnit.MINUTES);
  }

  public static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60)).GET().build(),
      HttpResponse.BodyHandlers.ofString());
  }

  /** A GET with a client token. */
  public static HttpResponse<String> get(String url, String token) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
      .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A request with a JSON body and a client token. */
  public static HttpResponse<String> send(String method, String url, String body, String token) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
      .header("Content-Type", "application/json").header("Authorization", "Bearer " + token)
      .method(method, HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  public static HttpResponse<String> post(String url, String body) throws Exception {
    return send("POST", url, body);
  }

  public static HttpResponse<String> send(String method, String url, String body) throws Exception {
    HttpRequest.BodyPublisher publisher = body == null ? HttpRequest.BodyPublishers.noBody()
      : HttpRequest.BodyPublishers.ofString(body);
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
      .header("Content-Type", "application/json").method(method, publisher).build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * A Vert.x application joining the cluster (members on {@code port}..{@code port+2}) as a Hazelcast
   * lite member, as a user's application would: no data, no agents, just the event bus.
   */
  public static Vertx liteMember(String cluster, int port) throws Exception {
    return liteMemberWithManager(cluster, port).vertx();
  }

  /** A lite member and its cluster manager (for a client that watches hub nodes leave). */
  public record LiteApp(Vertx vertx, HazelcastClusterManager manager) {
  }

  public static LiteApp liteMemberWithManager(String cluster, int port) throws Exception {
    Config hz = LiteMember.config(cluster, SECRET.getBytes(StandardCharsets.UTF_8), "127.0.0.1",
      List.of("127.0.0.1:" + port, "127.0.0.1:" + (port + 1), "127.0.0.1:" + (port + 2)));
    hz.getNetworkConfig().setPort(port + 30).setPortAutoIncrement(true);
    HazelcastClusterManager manager = new HazelcastClusterManager(hz);
    Vertx vertx = Vertx.builder().with(new VertxOptions().setEventBusOptions(
        new EventBusOptions().setHost("127.0.0.1")))
      .withClusterManager(manager).buildClustered().await(2, TimeUnit.MINUTES);
    // as an application with the secret does: it proves to the nodes that it holds it
    LiteMember.answerChallenges(vertx, manager, SECRET.getBytes(StandardCharsets.UTF_8)).await(1, TimeUnit.MINUTES);
    return new LiteApp(vertx, manager);
  }

  /** The cluster manager of a clustered Vert.x (tests reach into Hazelcast through it). */
  public static ClusterManager clusterManager(Vertx vertx) {
    return ((VertxInternal) vertx).clusterManager();
  }
  /** A listening TCP socket: the address it is bound to and its port. */
  public record Listener(String host, int port) {
  }

  /** The TCP sockets in state LISTEN that process {@code pid} holds open. */
  public static List<Listener> listeners(long pid) throws IOException {
    Set<String> inodes = new HashSet<>();
    try (Stream<Path> fds = Files.list(Path.of("/proc", String.valueOf(pid), "fd"))) {
      for (Path fd : fds.toList()) {
        try {
          String target = Files.readSymbolicLink(fd).toString();
          if (target.startsWith("socket:[")) {
            inodes.add(target.substring("socket:[".length(), target.length() - 1));
          }
        } catch (IOException closedMeanwhile) {
          // the descriptor was closed while the directory was read
        }
      }
    }
    List<Listener> out = new ArrayList<>();
    for (String table : List.of("tcp", "tcp6")) {
      Path file = Path.of("/proc", String.valueOf(pid), "net", table);
      if (!Files.exists(file)) {
        continue;
      }
      List<String> lines = Files.readAllLines(file);
      for (String line : lines.subList(1, lines.size())) {
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
        String[] f = line.trim().split("\\s+");
        if (f.length > 9 && f[3].equals("0A") && inodes.contains(f[9])) {
          String[] local = f[1].split(":");
          out.add(new Listener(address(local[0]), Integer.parseInt(local[1], 16)));
        }
      }
    }
    return out;
  }

  /**
   * An address as the kernel prints it: 4-byte words in hexadecimal, each in the machine's byte order
   * (little-endian here); an IPv4-mapped IPv6 address comes out as its IPv4 address.
   */
  static String address(String hex) throws IOException {
    byte[] raw = HexFormat.of().parseHex(hex);
    byte[] bytes = new byte[raw.length];
    for (int word = 0; word < raw.length; word += 4) {
      for (int i = 0; i < 4; i++) {
        bytes[word + i] = raw[word + 3 - i];
      }
    }
    return InetAddress.getByAddress(bytes).getHostAddress();
  }

  /** The product's fat jar, as failsafe names it (process tests run after {@code package}). */
  public static String productJar() {
    String jar = System.getProperty("agenthub.jar", "target/agenthub.jar");
    assertThat(new File(jar)).as("the fat jar (run through mvn verify)").exists();
    return new File(jar).getAbsolutePath();
  }


  /**
   * Starts the product jar as its own JVM ({@code run} and {@code args}) in {@code work}, with
   * {@code env} instead of the test's own {@code AGENTHUB_*} variables; its output goes to
   * {@code <work>/<name>.out} and {@code .err}. The caller kills it.
   */
  public static Process launch(Path work, String name, Map<String, String> env, String... args) throws IOException {
    Files.createDirectories(work);
    List<String> command = new ArrayList<>(List.of(Fixtures.javaBin(), "-Xmx256m", "-jar", productJar(), "run"));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).directory(work.toFile())
      .redirectOutput(work.resolve(name + ".out").toFile())
      .redirectError(work.resolve(name + ".err").toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("AGENTHUB_"));
    pb.environment().putAll(env);
    return pb.start();
  }

  /** Closes what a test class started: an application's Vert.x, then a node (either may be null). */
  public static void close(Vertx app, HubNode node) throws Exception {
    if (app != null) {
      app.close().await(1, TimeUnit.MINUTES);
    }
    if (node != null) {
      node.close().await(2, TimeUnit.MINUTES);
    }
  }
}

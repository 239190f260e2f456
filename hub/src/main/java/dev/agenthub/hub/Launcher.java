package dev.agenthub.hub;

import dev.agenthub.hub.config.ConfigException;
import dev.agenthub.hub.config.ConfigLoader;
import dev.agenthub.hub.config.HubConfig;

import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.LogManager;

/**
 * {@code java -jar agenthub.jar run [--conf FILE] [--cluster] [--node NAME] [--http-port N] [--roles a,b]}
 * starts a node; {@code plan ...} prints the capacity and cost plan. See "Contract: command line".
 */
public final class Launcher {

  static final int EXIT_USAGE = 2;
  static final int EXIT_CONFIG = 2;
  static final int EXIT_START = 1;

  private static final String USAGE = """
    usage: agenthub run [--conf FILE] [--cluster] [--node NAME] [--http-port N] [--roles a,b]
           agenthub bench [messages|memory|sessions|governor|provider|all] [--messages N] [--concurrency C] [--per-session N]
           agenthub mock-llm [--port 18080] [--host 127.0.0.1] [--latency-ms N] [--error-rate F] [--key SECRET:RPM:TPM ...]
           agenthub plan [--messages-per-day N] [--heartbeat DUR] [--agents N] [--context-tokens N]
                         [--output-tokens N] [--routine-share F] [--peak-factor F] [--conf FILE] [--json]
                         [--from-ledger]
    The environment overrides the config: AGENTHUB_CONF, AGENTHUB_NODE, AGENTHUB_HTTP_PORT, AGENTHUB_ROLES,
    AGENTHUB_CLUSTER, AGENTHUB_CLUSTER_NAME, AGENTHUB_CLUSTER_MEMBERS, AGENTHUB_CLUSTER_PORT,
    AGENTHUB_CLUSTER_HOST, AGENTHUB_MEMORY_DIR, AGENTHUB_MEMORY_WRITER, AGENTHUB_HTTP_HOST.""";

  private Launcher() {
  }

  public static void main(String[] args) {
    configureLogging();
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0 || List.of("help", "-h", "--help").contains(args[0])) {
      out.println(USAGE);
      return args.length == 0 ? EXIT_USAGE : 0;
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    return switch (args[0]) {
      case "run" -> runNode(rest, err);
      case "bench" -> {
        try {
          yield dev.agenthub.hub.bench.MessageBench.run(rest, out);
        } catch (Exception e) {
          err.println("agenthub: bench failed: " + describe(e));
          yield EXIT_START;
        }
      }
      case "mock-llm" -> runMock(rest, err);
      case "plan" -> plan(rest, out, err);
      default -> {
        err.println("agenthub: unknown command '" + args[0] + "'\n" + USAGE);
        yield EXIT_USAGE;
      }
    };
  }

  private static int runNode(String[] args, PrintStream err) {
    Path conf = null;
    String node = null;
    Integer port = null;
    List<String> roles = null;
    Boolean cluster = null;
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--conf" -> conf = Path.of(value(args, ++i, "--conf"));
          case "--cluster" -> cluster = true;
          case "--node" -> node = value(args, ++i, "--node");
          case "--http-port" -> port = parsePort(value(args, ++i, "--http-port"));
          case "--roles" -> roles = Arrays.stream(value(args, ++i, "--roles").split(","))
            .map(String::trim).filter(s -> !s.isEmpty()).toList();
          default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'");
        }
      }
    } catch (IllegalArgumentException e) {
      err.println("agenthub: " + e.getMessage() + "\n" + USAGE);
      return EXIT_USAGE;
    }
    HubConfig config;
    java.util.Map<String, String> secrets;
    try {
      config = ConfigLoader.load(conf, System.getenv(), new ConfigLoader.Overrides(node, port, roles, cluster));
      secrets = dev.agenthub.hub.config.Secrets.load(config, System.getenv());
      dev.agenthub.hub.config.Secrets.clusterSecret(config, System.getenv()); // a missing one stops us here
    } catch (ConfigException e) {
      err.println("agenthub: config error: " + e.getMessage());
      return EXIT_CONFIG;
    }
    HubNode hub;
    try {
      hub = HubNode.start(config, secrets).await(5, TimeUnit.MINUTES);
    } catch (Exception e) {
      err.println("agenthub: node " + config.node().name() + " failed to start: " + describe(e));
      return EXIT_START;
    }
    String name = config.node().name();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      // JUL may already be shut down here: report on stdout/stderr directly
      System.out.println("agenthub node " + name + " stopping: answering requests in flight, leaving the cluster");
      try {
        hub.close().await(45, TimeUnit.SECONDS);
        System.out.println("agenthub node " + name + " stopped");
      } catch (Exception e) {
        System.err.println("agenthub: node " + name + " did not stop cleanly: " + describe(e));
      }
    }, "agenthub-shutdown"));
    System.out.println("agenthub node " + config.node().name() + " ready on " + hub.url()
      + " (config: " + config.source() + (config.cluster().enabled() ? ", cluster: " + config.cluster().name() : "") + ")");
    try {
      Thread.currentThread().join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  private static int plan(String[] args, PrintStream out, PrintStream err) {
    Path conf = null;
    boolean json = false;
    boolean fromLedger = false;
    java.util.Map<String, String> given = new java.util.HashMap<>();
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--conf" -> conf = Path.of(value(args, ++i, "--conf"));
          case "--json" -> json = true;
          case "--from-ledger" -> fromLedger = true;
          case "--messages-per-day", "--heartbeat", "--agents", "--context-tokens", "--output-tokens",
               "--routine-share", "--peak-factor" -> given.put(args[i], value(args, ++i, args[i]));
          default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'");
        }
      }
    } catch (IllegalArgumentException e) {
      err.println("agenthub: plan: " + e.getMessage() + "\n" + USAGE);
      return EXIT_USAGE;
    }
    HubConfig config;
    try {
      config = ConfigLoader.load(conf, System.getenv(), ConfigLoader.Overrides.none());
    } catch (ConfigException e) {
      err.println("agenthub: config error: " + e.getMessage());
      return EXIT_CONFIG;
    }
    dev.agenthub.hub.planner.Planner.Profile d = dev.agenthub.hub.planner.Planner.Profile.defaults(config.agents().size());
    dev.agenthub.hub.planner.Planner.Profile profile;
    try {
      profile = new dev.agenthub.hub.planner.Planner.Profile(
        positiveLong(given, "--messages-per-day", d.messagesPerDay()),
        given.containsKey("--heartbeat") ? durationMs(given.get("--heartbeat")) : d.heartbeatMs(),
        (int) positiveLong(given, "--agents", d.agents()),
        (int) positiveLong(given, "--context-tokens", d.contextTokens()),
        (int) positiveLong(given, "--output-tokens", d.outputTokens()),
        fraction(given, "--routine-share", d.routineShare()),
        given.containsKey("--peak-factor") ? Math.max(1, Double.parseDouble(given.get("--peak-factor"))) : d.peakFactor());
      if (fromLedger) {
        var calibrated = dev.agenthub.hub.planner.Planner.calibrate(profile, Path.of(config.ledgerDir()), config);
        if (calibrated == null) {
          err.println("agenthub: plan: no calls in this month's ledger under " + config.ledgerDir()
            + "; using the given profile");
        } else {
          profile = calibrated;
        }
      }
    } catch (NumberFormatException | java.io.IOException e) {
      err.println("agenthub: plan: " + e.getMessage());
      return EXIT_USAGE;
    } catch (IllegalArgumentException e) {
      err.println("agenthub: plan: " + e.getMessage());
      return EXIT_USAGE;
    }
    var plan = dev.agenthub.hub.planner.Planner.plan(profile, dev.agenthub.hub.planner.Planner.Prices.from(config));
    out.println(json ? plan.toJson().encode() : plan.toText());
    return 0;
  }

  private static long positiveLong(java.util.Map<String, String> given, String option, long def) {
    if (!given.containsKey(option)) {
      return def;
    }
    long v = Long.parseLong(given.get(option));
    if (v <= 0) {
      throw new IllegalArgumentException(option + " must be positive, got " + v);
    }
    return v;
  }

  private static double fraction(java.util.Map<String, String> given, String option, double def) {
    if (!given.containsKey(option)) {
      return def;
    }
    double v = Double.parseDouble(given.get(option));
    if (v < 0 || v > 1) {
      throw new IllegalArgumentException(option + " is a fraction between 0 and 1, got " + v);
    }
    return v;
  }

  private static long durationMs(String text) {
    try {
      return ConfigLoader.durationMs("--heartbeat", text);
    } catch (ConfigException e) {
      throw new IllegalArgumentException("--heartbeat is a duration like 30m or 1h (0 = off), got '" + text + "'");
    }
  }

  private static int runMock(String[] args, PrintStream err) {
    int port = 18080;
    String host = "127.0.0.1";
    long latency = 0;
    double errorRate = 0;
    List<dev.agenthub.hub.governor.MockLlm.Key> keys = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--port" -> port = parsePort(value(args, ++i, "--port"));
          case "--host" -> host = value(args, ++i, "--host");
          case "--latency-ms" -> latency = Long.parseLong(value(args, ++i, "--latency-ms"));
          case "--error-rate" -> errorRate = Double.parseDouble(value(args, ++i, "--error-rate"));
          case "--key" -> keys.add(dev.agenthub.hub.governor.MockLlm.Key.parse(value(args, ++i, "--key")));
          default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'");
        }
      }
    } catch (IllegalArgumentException e) {
      err.println("agenthub: mock-llm: " + e.getMessage() + "\n" + USAGE);
      return EXIT_USAGE;
    }
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    var mock = new dev.agenthub.hub.governor.MockLlm(vertx, latency, errorRate, keys);
    try {
      int actual = mock.listen(host, port).await(30, TimeUnit.SECONDS);
      System.out.println("mock LLM on http://" + host + ":" + actual + "/v1 (" + keys.size() + " keys"
        + (keys.isEmpty() ? ", any key accepted, no limits" : "") + "; GET /stats)");
    } catch (Exception e) {
      err.println("agenthub: mock-llm failed to start: " + describe(e));
      return EXIT_START;
    }
    try {
      Thread.currentThread().join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length || args[i].startsWith("--")) {
      throw new IllegalArgumentException(option + " needs a value");
    }
    return args[i];
  }

  private static int parsePort(String text) {
    try {
      int port = Integer.parseInt(text);
      if (port < 0 || port > 65535) {
        throw new NumberFormatException();
      }
      return port;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--http-port must be a port number (0-65535), got '" + text + "'");
    }
  }

  private static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage();
    if (root instanceof java.net.BindException) {
      return "HTTP address already in use (" + message + ")";
    }
    return message == null ? root.getClass().getSimpleName() : message;
  }

  private static void configureLogging() {
    if (System.getProperty("java.util.logging.config.file") != null) {
      return;
    }
    try (InputStream in = Launcher.class.getResourceAsStream("/agenthub/logging.properties")) {
      if (in != null) {
        LogManager.getLogManager().readConfiguration(in);
      }
    } catch (Exception e) {
      System.err.println("agenthub: could not configure logging: " + e.getMessage());
    }
  }
}

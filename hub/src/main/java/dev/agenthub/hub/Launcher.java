package dev.agenthub.hub;

import dev.agenthub.config.ConfigException;
import dev.agenthub.config.ConfigLoader;
import dev.agenthub.config.HubConfig;
import dev.agenthub.config.Secrets;
import dev.agenthub.hub.cluster.MembershipWatch;
import dev.agenthub.hub.planner.Planner;
import dev.agenthub.hub.telemetry.LogFormat;

import com.hazelcast.instance.BuildInfoProvider;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.logging.LogManager;

/**
 * The command line ("Contract: command line and scripts" in docs/ARCHITECTURE.md), on picocli:
 * {@code run} starts a node, {@code plan} prints the capacity and cost plan (the mock LLM and the
 * benchmarks are in the tools jar, {@code dev.agenthub.devtools.DevTools}). Every command answers
 * {@code --help}; the jar answers {@code --version}. Exit status: 0 fine, 1 a node that could not start, 2 bad options or
 * configuration.
 */
@Command(name = "agenthub", mixinStandardHelpOptions = true, versionProvider = Launcher.Version.class,
  description = "Runs many LLM agents as actors on a clustered Vert.x event bus, one node per JVM.",
  subcommands = {Launcher.Run.class, Launcher.Plan.class, CommandLine.HelpCommand.class},
  footerHeading = "%nEnvironment (overrides the config):%n", footer = Launcher.ENVIRONMENT)
public final class Launcher implements Callable<Integer> {

  static final int EXIT_USAGE = 2;
  static final int EXIT_CONFIG = 2;
  static final int EXIT_START = 1;

  static final String ENVIRONMENT = """
      AGENTHUB_CONF                     the config file
      AGENTHUB_NODE, AGENTHUB_ROLES     the node's name and roles
      AGENTHUB_HTTP_HOST, _HTTP_PORT    where the HTTP API listens
      AGENTHUB_BRIDGE_PORT              the event-bus bridge for applications (0: off)
      AGENTHUB_CLUSTER                  true: join the cluster
      AGENTHUB_CLUSTER_NAME, _MEMBERS   the cluster (members: host:port[-port],...)
      AGENTHUB_CLUSTER_HOST, _PORT      this node's Hazelcast address and base port
      AGENTHUB_CLUSTER_SECRET(_FILE)    no member without it; needed unless cluster.loopback-only
      AGENTHUB_MEMORY_DIR, _WRITER      the memory directory; may this node write it
      AGENTHUB_MEMORY_REPLICAS          copies of the memory, one per memory node (1 = one directory)
      AGENTHUB_CLIENTS_FILE             the API clients from a file of their own
      AGENTHUB_LOG_FORMAT               text, json or auto (json when not on a terminal)
    Without --conf the embedded conf/hub.yaml is used: HTTP on 127.0.0.1:8080,
    the built-in sim model, no API key needed.""";

  private Launcher() {
  }

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getOut());
    return EXIT_USAGE;
  }

  public static void main(String[] args) {
    configureLogging();
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    PrintWriter o = new PrintWriter(out, true);
    PrintWriter e = new PrintWriter(err, true);
    CommandLine cli = new CommandLine(new Launcher()).setOut(o).setErr(e)
      .setParameterExceptionHandler((ex, given) -> {
        CommandLine c = ex.getCommandLine();
        c.getErr().println("agenthub: " + (c.getParent() == null ? "" : c.getCommandName() + ": ") + ex.getMessage());
        c.getErr().println("(" + c.getCommandSpec().qualifiedName() + " --help shows the options)");
        return EXIT_USAGE;
      })
      .setExecutionExceptionHandler((ex, c, result) -> {
        c.getErr().println("agenthub: " + c.getCommandName() + " failed: " + describe(ex));
        return EXIT_START;
      });
    int code = cli.execute(args);
    o.flush();
    e.flush();
    return code;
  }

  /** The jar's version (from its manifest), or "dev" when run from classes. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Launcher.class.getPackage().getImplementationVersion();
      return new String[]{"agenthub " + (v == null ? "dev" : v) + " (Java " + System.getProperty("java.version")
        + ", Vert.x 5, Hazelcast " + BuildInfoProvider.getBuildInfo().getVersion() + ")"};
    }
  }

  /** Keeps a serving command (a node, the mock) in the foreground until the JVM is stopped. */
  /**
   * Serves until the process is stopped, or until its Hazelcast instance stopped under it (someone
   * shut the cluster down): a node out of its cluster must be restarted. A node that only looks out
   * (alone while another secret's member answers at a configured address) stays up, not ready, and
   * says so ({@link MembershipWatch}): it may be the right one, and exiting would turn a wrong guess
   * into an outage.
   */
  private static int serveUntilStopped(HubNode hub, PrintStream err) {
    MembershipWatch watch = hub.membership();
    try {
      while (true) {
        Thread.sleep(1_000);
        if (watch == null) {
          continue;
        }
        if (watch.state() == MembershipWatch.State.STOPPED) {
          err.println("agenthub: node " + hub.config().node().name() + " is out of its cluster: its Hazelcast "
            + "instance stopped");
          return EXIT_START;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  /** A PrintStream onto one of picocli's writers (the commands' bodies print to streams). */
  private static PrintStream stream(PrintWriter writer) {
    return new PrintStream(new OutputStream() {
      @Override
      public void write(int b) {
        writer.write(b);
      }

      @Override
      public void flush() {
        writer.flush();
      }
    }, true, StandardCharsets.ISO_8859_1);
  }

  private static int port(CommandLine.Model.CommandSpec spec, String option, Integer port) {
    if (port != null && (port < 0 || port > 65535)) {
      throw new CommandLine.ParameterException(spec.commandLine(), option + " must be a port number (0-65535), got '"
        + port + "'");
    }
    return port == null ? -1 : port;
  }

  @Command(name = "run", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = "Starts a node: the gateway, the governor, the ledger, this node's agent instances and, on memory "
      + "nodes, the memory writer (or its standby).",
    footerHeading = "%nEnvironment (overrides the config):%n", footer = ENVIRONMENT)
  static final class Run implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;
    @Option(names = "--conf", paramLabel = "FILE", description = "the config file (default: the embedded conf/hub.yaml)")
    Path conf;
    @Option(names = "--cluster", description = "join the cluster of the config's cluster: section")
    Boolean cluster;
    @Option(names = "--node", paramLabel = "NAME", description = "this node's name, unique in the cluster")
    String node;
    @Option(names = "--http-port", paramLabel = "N", description = "the HTTP port (0: any free one)")
    Integer port;
    @Option(names = "--bridge-port", paramLabel = "N", description = "the TCP event-bus bridge's port, the door of "
      + "applications (node.bridge; 0: off, the default)")
    Integer bridgePort;
    @Option(names = "--roles", paramLabel = "a,b", split = ",", description = "this node's roles (agents run on nodes "
      + "sharing one of theirs)")
    List<String> roles;

    @Override
    public Integer call() {
      Integer port = this.port == null ? null : port(spec, "--http-port", this.port);
      Integer bridgePort = this.bridgePort == null ? null : port(spec, "--bridge-port", this.bridgePort);
      PrintStream err = stream(spec.commandLine().getErr());
      HubConfig config;
      Map<String, String> secrets;
      try {
        config = ConfigLoader.load(conf, System.getenv(), new ConfigLoader.Overrides(node, port, roles, cluster, bridgePort));
        LogFormat.apply(LogFormat.resolve(System.getenv(), config.operations().logFormat(), System.console() != null),
          config.node().name());
        secrets = Secrets.load(config, System.getenv());
        Secrets.clusterSecret(config, System.getenv()); // a missing one stops us here
      } catch (ConfigException | IllegalArgumentException e) {
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
      return serveUntilStopped(hub, err);
    }
  }

  @Command(name = "plan", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = "Prints the capacity and cost plan of a workload: monthly cost, peak RPM and TPM, keys and nodes "
      + "needed, storage growth.")
  static final class Plan implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;
    @Option(names = "--conf", paramLabel = "FILE", description = "the config whose models and prices to use")
    Path conf;
    @Option(names = "--json", description = "one JSON object instead of text")
    boolean json;
    @Option(names = "--from-ledger", description = "calibrate the profile from this month's ledger")
    boolean fromLedger;
    @Option(names = "--messages-per-day", paramLabel = "N", description = "users' messages a day (default 1,000)")
    String messagesPerDay;
    @Option(names = "--heartbeat", paramLabel = "DUR", description = "each agent's heartbeat interval (default 30m; 0 = off)") String heartbeat;
    @Option(names = "--agents", paramLabel = "N", description = "agents with a heartbeat (default: the config's)")
    String agents;
    @Option(names = "--context-tokens", paramLabel = "N", description = "input tokens a message (default 2,500)")
    String contextTokens;
    @Option(names = "--output-tokens", paramLabel = "N", description = "output tokens a message (default 250)")
    String outputTokens;
    @Option(names = "--routine-share", paramLabel = "F", description = "share of turns on the routine model, 0-1 (default 0.8)")
    String routineShare;
    @Option(names = "--peak-factor", paramLabel = "F", description = "the busiest hour's rate over the day's average "
      + "(default 3)") String peakFactor;

    @Override
    public Integer call() {
      PrintStream out = stream(spec.commandLine().getOut());
      PrintStream err = stream(spec.commandLine().getErr());
      Map<String, String> given = new HashMap<>();
      put(given, "--messages-per-day", messagesPerDay);
      put(given, "--heartbeat", heartbeat);
      put(given, "--agents", agents);
      put(given, "--context-tokens", contextTokens);
      put(given, "--output-tokens", outputTokens);
      put(given, "--routine-share", routineShare);
      put(given, "--peak-factor", peakFactor);
      try {
        return plan(conf, json, fromLedger, given, out, err);
      } finally {
        out.flush();
        err.flush();
        spec.commandLine().getOut().flush();
        spec.commandLine().getErr().flush();
      }
    }

    private static void put(Map<String, String> given, String option, String value) {
      if (value != null) {
        given.put(option, value);
      }
    }
  }

  private static int plan(Path conf, boolean json, boolean fromLedger, Map<String, String> given,
                          PrintStream out, PrintStream err) {
    HubConfig config;
    try {
      config = ConfigLoader.load(conf, System.getenv(), ConfigLoader.Overrides.none());
    } catch (ConfigException e) {
      err.println("agenthub: config error: " + e.getMessage());
      return EXIT_CONFIG;
    }
    Planner.Profile d = Planner.Profile.defaults(config.agents().size());
    Planner.Profile profile;
    try {
      profile = new Planner.Profile(
        positiveLong(given, "--messages-per-day", d.messagesPerDay()),
        given.containsKey("--heartbeat") ? durationMs(given.get("--heartbeat")) : d.heartbeatMs(),
        (int) positiveLong(given, "--agents", d.agents()),
        (int) positiveLong(given, "--context-tokens", d.contextTokens()),
        (int) positiveLong(given, "--output-tokens", d.outputTokens()),
        fraction(given, "--routine-share", d.routineShare()),
        given.containsKey("--peak-factor") ? Math.max(1, Double.parseDouble(given.get("--peak-factor"))) : d.peakFactor());
      if (fromLedger) {
        var calibrated = Planner.calibrate(profile, Path.of(config.ledgerDir()), config);
        if (calibrated == null) {
          err.println("agenthub: plan: no calls in this month's ledger under " + config.ledgerDir()
            + "; using the given profile");
        } else {
          profile = calibrated;
        }
      }
    } catch (NumberFormatException | IOException e) {
      err.println("agenthub: plan: " + e.getMessage());
      return EXIT_USAGE;
    } catch (IllegalArgumentException e) {
      err.println("agenthub: plan: " + e.getMessage());
      return EXIT_USAGE;
    }
    var plan = Planner.plan(profile, Planner.Prices.from(config));
    out.println(json ? plan.toJson().encode() : plan.toText());
    return 0;
  }

  private static long positiveLong(Map<String, String> given, String option, long def) {
    if (!given.containsKey(option)) {
      return def;
    }
    long v = Long.parseLong(given.get(option));
    if (v <= 0) {
      throw new IllegalArgumentException(option + " must be positive, got " + v);
    }
    return v;
  }

  private static double fraction(Map<String, String> given, String option, double def) {
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

  private static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage();
    if (root instanceof BindException) {
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

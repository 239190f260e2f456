package dev.agenthub.devtools;

import dev.agenthub.devtools.bench.MessageBench;
import dev.agenthub.devtools.mock.MockLlm;

import io.vertx.core.Vertx;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code java -jar devtools/target/agenthub-devtools.jar mock-llm|bench}: the tools that test and measure
 * agenthub, kept out of the product jar. {@code mock-llm} is a provider stand-in as strict as the
 * real APIs; {@code bench} starts nodes from the product jar ({@code --hub-jar}, default
 * {@code hub/target/agenthub.jar}) as separate JVMs and prints figures.
 */
@Command(name = "agenthub-devtools", mixinStandardHelpOptions = true, versionProvider = DevTools.Version.class,
  description = "The mock LLM and the benchmarks of agenthub.",
  subcommands = {DevTools.MockLlmCommand.class, DevTools.Bench.class, CommandLine.HelpCommand.class})
public final class DevTools implements Callable<Integer> {

  static final int EXIT_USAGE = 2;
  static final int EXIT_START = 1;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  private DevTools() {
  }

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getOut());
    return EXIT_USAGE;
  }

  public static void main(String[] args) {
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  static int run(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cli = new CommandLine(new DevTools()).setOut(out).setErr(err)
      .setParameterExceptionHandler((ex, given) -> {
        CommandLine c = ex.getCommandLine();
        c.getErr().println("agenthub-devtools: " + (c.getParent() == null ? "" : c.getCommandName() + ": ")
          + ex.getMessage());
        c.getErr().println("(" + c.getCommandSpec().qualifiedName() + " --help shows the options)");
        return EXIT_USAGE;
      })
      .setExecutionExceptionHandler((ex, c, result) -> {
        c.getErr().println("agenthub-devtools: " + c.getCommandName() + " failed: " + describe(ex));
        return EXIT_START;
      });
    int code = cli.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  private static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
  }

  /** The jar's version (from its manifest), or "dev" when run from classes. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = DevTools.class.getPackage().getImplementationVersion();
      return new String[]{"agenthub-devtools " + (v == null ? "dev" : v) + " (Java " + System.getProperty("java.version")
        + ")"};
    }
  }

  @Command(name = "mock-llm", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = "Runs the mock LLM: OpenAI chat completions (tools, streaming), batches and the Anthropic "
      + "Messages API, as strict as the real ones, with per-key limits; GET /stats.")
  static final class MockLlmCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;
    @Option(names = "--port", paramLabel = "N", defaultValue = "18080", description = "default: ${DEFAULT-VALUE}")
    int port;
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "default: ${DEFAULT-VALUE}")
    String host;
    @Option(names = "--latency-ms", paramLabel = "N", defaultValue = "0", description = "model latency, spread over the answer")
    long latency;
    @Option(names = "--error-rate", paramLabel = "F", defaultValue = "0", description = "share of calls answered 500")
    double errorRate;
    @Option(names = "--key", paramLabel = "SECRET:RPM:TPM", description = "a key and its limits (none: any key, no limits)")
    List<String> keySpecs = new ArrayList<>();

    @Override
    public Integer call() {
      if (port < 0 || port > 65535) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--port must be a port number (0-65535), got '"
          + port + "'");
      }
      List<MockLlm.Key> keys = new ArrayList<>();
      for (String k : keySpecs) {
        try {
          keys.add(MockLlm.Key.parse(k));
        } catch (IllegalArgumentException e) {
          throw new CommandLine.ParameterException(spec.commandLine(), "--key: " + e.getMessage());
        }
      }
      Vertx vertx = Vertx.vertx();
      MockLlm mock = new MockLlm(vertx, latency, errorRate, keys);
      try {
        int actual = mock.listen(host, port).await(30, TimeUnit.SECONDS);
        System.out.println("mock LLM on http://" + host + ":" + actual + "/v1 (" + keys.size() + " keys"
          + (keys.isEmpty() ? ", any key accepted, no limits" : "") + "; GET /stats)");
      } catch (Exception e) {
        spec.commandLine().getErr().println("agenthub-devtools: mock-llm failed to start: " + describe(e));
        return EXIT_START;
      }
      try {
        Thread.currentThread().join(); // serves until the JVM is stopped
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return 0;
    }
  }

  @Command(name = "bench", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = "Runs the benchmarks and prints their figures (nodes as separate JVMs from the product jar).")
  static final class Bench implements Callable<Integer> {
    @Parameters(arity = "0..1", paramLabel = "SCENARIO", defaultValue = "all",
      description = "messages|memory|sessions|governor|provider|eventbus|telemetry|tools|channels|all (default: ${DEFAULT-VALUE})")
    String scenario;
    @Option(names = "--messages", paramLabel = "N", description = "messages (or appends) per run")
    Integer messages;
    @Option(names = "--concurrency", paramLabel = "C", description = "concurrent sessions (closed loops)")
    Integer concurrency;
    @Option(names = "--per-session", paramLabel = "N", description = "messages per session (provider scenario)")
    Integer perSession;
    @Option(names = "--replicas", paramLabel = "N",
      description = "memory scenario: only three nodes with memory.replicas N (no single-node rows, no kill)")
    Integer replicas;
    @Option(names = "--hub-jar", paramLabel = "FILE", defaultValue = "hub/target/agenthub.jar",
      description = "the product jar the nodes run from (default: ${DEFAULT-VALUE})")
    String hubJar;

    @Override
    public Integer call() throws Exception {
      List<String> args = new ArrayList<>(List.of(scenario));
      if (messages != null) {
        args.addAll(List.of("--messages", messages.toString()));
      }
      if (concurrency != null) {
        args.addAll(List.of("--concurrency", concurrency.toString()));
      }
      if (perSession != null) {
        args.addAll(List.of("--per-session", perSession.toString()));
      }
      if (replicas != null) {
        args.addAll(List.of("--replicas", replicas.toString()));
      }
      args.addAll(List.of("--hub-jar", hubJar));
      return MessageBench.run(args.toArray(String[]::new), System.out);
    }
  }
}

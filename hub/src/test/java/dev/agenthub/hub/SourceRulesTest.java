package dev.agenthub.hub;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Rules of the house the compiler does not check, over every module's sources: a type is named by
 * an import, never spelled out with its package in the code; and the modules depend one way (as
 * "Modules" in docs/ARCHITECTURE.md draws them; nothing in the product imports the devtools).
 */
class SourceRulesTest {

  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Pattern INLINE = Pattern.compile("(?<![\\w.@\"])((?:java|javax|io\\.vertx|com\\.hazelcast|"
    + "com\\.github|io\\.micrometer|io\\.opentelemetry|dev\\.agenthub|picocli)(?:\\.[a-z][a-z0-9_]*)*)\\.([A-Z]\\w*)");

  private static List<Path> sources(String... modules) throws IOException {
    List<Path> out = new ArrayList<>();
    for (String module : modules) {
      Path src = ROOT.resolve(module).resolve("src");
      if (Files.isDirectory(src)) {
        try (Stream<Path> files = Files.walk(src)) {
          files.filter(f -> f.toString().endsWith(".java")).forEach(out::add);
        }
      }
    }
    return out;
  }

  @Test
  void typesAreImportedNotSpelledOutInline() throws IOException {
    List<String> found = new ArrayList<>();
    for (Path file : sources(MODULES.keySet().toArray(String[]::new))) {
      List<String> lines = Files.readAllLines(file);
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i);
        String trimmed = line.strip();
        if (trimmed.startsWith("import ") || trimmed.startsWith("package ") || trimmed.startsWith("*")
          || trimmed.startsWith("/*") || trimmed.startsWith("//")) {
          continue;
        }
        Matcher m = INLINE.matcher(line);
        while (m.find()) {
          boolean inString = line.substring(0, m.start()).chars().filter(c -> c == '"').count() % 2 == 1;
          int comment = line.indexOf("//");
          if (!inString && (comment < 0 || comment > m.start())) {
            found.add(ROOT.relativize(file) + ":" + (i + 1) + ": " + m.group());
          }
        }
      }
    }
    assertThat(found).as("inline fully qualified names (import them)").isEmpty();
  }

  /**
   * Each module and the agenthub packages its main code may import (its own included): the direction
   * of "Modules" in docs/ARCHITECTURE.md. Tests may also import test-support, and the hub's tests the
   * devtools.
   */
  private static final Map<String, Set<String>> MODULES = Map.ofEntries(
    Map.entry("protocol", Set.of("protocol")),
    Map.entry("test-support", Set.of("testing")),
    Map.entry("shared-memory", Set.of("protocol", "memory")),
    Map.entry("agents", Set.of("protocol", "memory", "agents")),
    Map.entry("config", Set.of("protocol", "memory", "agents", "config")),
    Map.entry("governor", Set.of("protocol", "memory", "agents", "config", "governor")),
    Map.entry("mcp", Set.of("protocol", "memory", "agents", "config", "mcp")),
    Map.entry("channels", Set.of("protocol", "memory", "agents", "config", "governor", "channels")),
    Map.entry("client", Set.of("protocol", "client")),
    Map.entry("devtools", Set.of("protocol", "memory", "agents", "config", "governor", "mcp", "client", "testing",
      "devtools")),
    Map.entry("hub", Set.of("protocol", "memory", "agents", "config", "governor", "mcp", "channels", "client",
      "hub")),
    Map.entry("examples/eventbus-app", Set.of("protocol", "client", "examples")));

  private static final Pattern OUR_IMPORT = Pattern.compile("^import (?:static )?dev\\.agenthub\\.(\\w+)", Pattern.MULTILINE);

  @Test
  void modulesDependOneWay() throws IOException {
    List<String> found = new ArrayList<>();
    for (var module : MODULES.entrySet()) {
      for (Path file : sources(module.getKey())) {
        boolean test = file.toString().contains("/src/test/");
        Matcher m = OUR_IMPORT.matcher(Files.readString(file));
        while (m.find()) {
          String pkg = m.group(1);
          boolean allowed = module.getValue().contains(pkg) || test && pkg.equals("testing")
            || test && module.getKey().equals("hub") && pkg.equals("devtools");
          if (!allowed) {
            found.add(ROOT.relativize(file) + " imports dev.agenthub." + pkg);
          }
        }
      }
    }
    assertThat(found).as("imports against the modules' direction").isEmpty();
  }

  @Test
  void nothingOfOursCrossesTheClusterByJavaSerialization() throws IOException {
    // every module of the build; its main code only (tests may show what the members refuse)
    List<String> modules = new ArrayList<>();
    Matcher module = Pattern.compile("<module>([^<]+)</module>").matcher(Files.readString(ROOT.resolve("pom.xml")));
    while (module.find()) {
      modules.add(module.group(1));
    }
    Pattern serializable = Pattern.compile("\\b(?:implements|extends)\\b[^{;]*\\b(?:Serializable|Externalizable)\\b");
    Pattern processorCall = Pattern.compile(
      "\\.(?:executeOnKey|executeOnKeys|executeOnEntries|submitToKey|submitToKeys)(?:Async)?\\s*\\(");
    Pattern processorLambda = Pattern.compile("new\\s+EntryProcessor\\s*<|EntryProcessor<[^;(){}]*>\\s+\\w+\\s*=\\s*"
      + "(?:\\([^()]*\\)\\s*->|\\w+\\s*->|[\\w.]+::)");
    List<String> found = new ArrayList<>();
    for (Path file : sources(modules.toArray(String[]::new))) {
      if (!file.toString().contains("/src/main/")) {
        continue;
      }
      String code = Files.readString(file).replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\n]*", "");
      String name = ROOT.relativize(file).toString();
      if (serializable.matcher(code).find()) {
        found.add(name + ": implements Serializable (give it a Compact serializer)");
      }
      if (processorLambda.matcher(code).find()) {
        found.add(name + ": an entry processor that is a lambda or an anonymous class");
      }
      Matcher call = processorCall.matcher(code);
      while (call.find()) {
        int depth = 1;
        int end = call.end();
        while (end < code.length() && depth > 0) {
          char c = code.charAt(end++);
          depth += c == '(' ? 1 : c == ')' ? -1 : 0;
        }
        String arguments = code.substring(call.end(), end);
        if (arguments.contains("->") || arguments.contains("::")) {
          found.add(name + ": a lambda in an entry processor call: " + call.group() + arguments);
        }
      }
    }
    assertThat(found).as("what crosses Hazelcast members is a named class with a Compact serializer").isEmpty();
  }

  /** Every import is used: a file names what it needs, nothing left over from code that moved. */
  @Test
  void everyImportIsUsed() throws IOException {
    Pattern importLine = Pattern.compile("^import (?:static )?([\\w.]+);$", Pattern.MULTILINE);
    List<String> found = new ArrayList<>();
    for (Path file : sources(MODULES.keySet().toArray(String[]::new))) {
      String text = Files.readString(file);
      String body = importLine.matcher(text).replaceAll("");
      Matcher m = importLine.matcher(text);
      while (m.find()) {
        String name = m.group(1).substring(m.group(1).lastIndexOf('.') + 1);
        if (!Pattern.compile("\\b" + Pattern.quote(name) + "\\b").matcher(body).find()) {
          found.add(ROOT.relativize(file) + ": " + m.group());
        }
      }
    }
    assertThat(found).as("unused imports").isEmpty();
  }

  /** No two packages of the product import each other, however roundabout (main sources only). */
  @Test
  void packagesFormNoCycle() throws IOException {
    Pattern packageLine = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);
    Pattern ourImport = Pattern.compile("^import (?:static )?((?:dev\\.agenthub\\.)(?:[a-z]\\w*\\.)*[a-z]\\w*)\\.[A-Z]",
      Pattern.MULTILINE);
    Map<String, Set<String>> imports = new TreeMap<>();
    for (Path file : sources(MODULES.keySet().toArray(String[]::new))) {
      if (!file.toString().contains("/src/main/")) {
        continue;
      }
      String text = Files.readString(file);
      Matcher p = packageLine.matcher(text);
      if (!p.find()) {
        continue;
      }
      Set<String> to = imports.computeIfAbsent(p.group(1), k -> new TreeSet<>());
      Matcher m = ourImport.matcher(text);
      while (m.find()) {
        if (!m.group(1).equals(p.group(1))) {
          to.add(m.group(1));
        }
      }
    }
    List<String> cycles = new ArrayList<>();
    for (String start : imports.keySet()) {
      // a package that reaches itself through the others is in a cycle
      Set<String> seen = new TreeSet<>();
      List<String> todo = new ArrayList<>(imports.getOrDefault(start, Set.of()));
      while (!todo.isEmpty()) {
        String next = todo.remove(todo.size() - 1);
        if (next.equals(start)) {
          cycles.add(start);
          break;
        }
        if (seen.add(next)) {
          todo.addAll(imports.getOrDefault(next, Set.of()));
        }
      }
    }
    assertThat(cycles).as("packages in an import cycle").isEmpty();
  }
}

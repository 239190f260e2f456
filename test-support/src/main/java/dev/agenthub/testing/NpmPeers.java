package dev.agenthub.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The programs from npm that tests run against and no one here wrote (the reference MCP servers, the
 * official MCP TypeScript SDK), pinned in {@code test-support/npm/package.json} and its lock. The
 * first test that needs them installs them with {@code npm ci} (Node.js and npm are on the machine;
 * the registry is reachable), so {@code scripts/test} on a fresh clone needs nothing installed by hand.
 */
public final class NpmPeers {

  private NpmPeers() {
  }

  /** The folder holding {@code package.json} and, once installed, {@code node_modules}. */
  public static synchronized Path installed() {
    Path dir = folder();
    Path marker = dir.resolve("node_modules").resolve(".package-lock.json");
    if (Files.isRegularFile(marker)) {
      return dir;
    }
    try {
      Path log = Files.createTempFile("npm-ci", ".log");
      Process p = new ProcessBuilder(List.of("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"))
        .directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IllegalStateException("npm ci in " + dir + " failed: " + Files.readString(log, StandardCharsets.UTF_8));
      }
      Files.deleteIfExists(log);
    } catch (IOException e) {
      throw new IllegalStateException("cannot run npm (is Node.js installed?): " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while installing npm packages", e);
    }
    return dir;
  }

  /** The entry script of an installed package's program, e.g. {@code @modelcontextprotocol/server-everything}. */
  public static Path script(String pkg, String relative) {
    Path script = installed().resolve("node_modules").resolve(pkg).resolve(relative);
    if (!Files.isRegularFile(script)) {
      throw new IllegalStateException(script + " is missing after npm ci");
    }
    return script;
  }

  private static Path folder() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      Path candidate = dir.resolve("test-support").resolve("npm");
      if (Files.isRegularFile(candidate.resolve("package.json"))) {
        return candidate;
      }
      dir = dir.getParent();
    }
    throw new IllegalStateException("test-support/npm/package.json not found above " + Path.of("").toAbsolutePath());
  }
}

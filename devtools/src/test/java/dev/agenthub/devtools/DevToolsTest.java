package dev.agenthub.devtools;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

/** The tools' command line: help for each command, the version, errors that name the option at fault. */
class DevToolsTest {

  private static String[] run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = DevTools.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new String[]{String.valueOf(code), out.toString(), err.toString()};
  }

  @Test
  void everyCommandAnswersHelpAndBadOptionsAreNamed() {
    for (String command : new String[]{"mock-llm", "bench"}) {
      String[] r = run(command, "--help");
      assertThat(r[0]).as(command).isEqualTo("0");
      assertThat(r[1]).as(command).startsWith("Usage: agenthub-devtools " + command);
    }
    assertThat(run("bench", "--help")[1]).contains("--messages").contains("--concurrency").contains("--hub-jar");
    assertThat(run("--version")[1]).startsWith("agenthub-devtools ");
    String[] badPort = run("mock-llm", "--port", "70000");
    assertThat(badPort[0]).isEqualTo("2");
    assertThat(badPort[2]).contains("--port must be a port number");
    String[] badKey = run("mock-llm", "--key", "nonsense");
    assertThat(badKey[0]).isEqualTo("2");
    assertThat(badKey[2]).contains("--key");
    assertThat(run("bench", "--messages", "many")[0]).isEqualTo("2");
  }
}

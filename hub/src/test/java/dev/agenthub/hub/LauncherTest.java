package dev.agenthub.hub;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;

import static org.assertj.core.api.Assertions.assertThat;

class LauncherTest {

  private static String[] run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Launcher.run(args, new PrintStream(out, true), new PrintStream(err, true));
    return new String[]{String.valueOf(code), out.toString(), err.toString()};
  }

  @Test
  void planPrintsTheContractsJson() {
    String[] r = run("plan", "--messages-per-day", "10000", "--json", "--conf", "../conf/hub.yaml");
    assertThat(r[0]).isEqualTo("0");
    JsonObject plan = new JsonObject(r[1].strip());
    assertThat(plan.getJsonObject("monthly_usd").fieldNames()).contains("large", "small", "mix");
    assertThat(plan.fieldNames()).contains("peak_rpm", "peak_tpm", "keys_needed", "nodes_needed", "storage_gb_per_month");
  }

  @Test
  void planAsTextAndBadOptions() {
    assertThat(run("plan", "--conf", "../conf/hub.yaml")[1]).contains("monthly cost").contains("mix");
    String[] bad = run("plan", "--routine-share", "1.5", "--conf", "../conf/hub.yaml");
    assertThat(bad[0]).isEqualTo("2");
    assertThat(bad[2]).contains("--routine-share is a fraction");
    assertThat(run("plan", "--heartbeat", "soon")[2]).contains("--heartbeat is a duration");
    assertThat(run("frobnicate")[0]).isEqualTo("2");
    assertThat(run("run", "--http-port", "99999")[2]).contains("--http-port must be a port number");
  }

  @Test
  void everyCommandAnswersHelpAndTheJarItsVersion() {
    for (String command : new String[]{"run", "plan"}) {
      String[] r = run(command, "--help");
      assertThat(r[0]).as(command).isEqualTo("0");
      assertThat(r[1]).as(command).startsWith("Usage: agenthub " + command);
    }
    assertThat(run("run", "--help")[1]).contains("--http-port").contains("AGENTHUB_CLUSTER_SECRET")
      .contains("AGENTHUB_LOG_FORMAT");
    // every planner option says what it is and its default
    assertThat(run("plan", "--help")[1]).contains("users' messages a day (default 1,000)")
      .contains("busiest hour's rate").contains("output tokens a message (default 250)");
    String[] version = run("--version");
    assertThat(version[0]).isEqualTo("0");
    assertThat(version[1]).startsWith("agenthub ");
    // the tools are not the product's commands
    assertThat(run("mock-llm")[0]).isEqualTo("2");
    assertThat(run("run", "--bogus")[2]).contains("Unknown option: '--bogus'").contains("agenthub run --help");
  }
}

package dev.agenthub.hub.telemetry;

import dev.agenthub.protocol.LogFields;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.LogRecord;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The JSON log line, with what the Vert.x context that logged knows; the choice of format. */
class LogFormatTest {

  @Test
  void aLineLoggedWhileHandlingAMessageNamesItsAgentSessionAndRequest() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      JsonLogFormatter formatter = new JsonLogFormatter("n1");
      CompletableFuture<String> logged = new CompletableFuture<>();
      vertx.eventBus().<String>consumer("log-test", m -> {
        LogFields.put("support", "acme/s1", "req-7");
        // a later callback of the same message still knows them
        vertx.setTimer(1, id -> {
          LogRecord record = new LogRecord(Level.WARNING, "turn {0} slow");
          record.setParameters(new Object[] {"t1"});
          record.setLoggerName("dev.agenthub.X");
          record.setThrown(new IllegalStateException("boom"));
          logged.complete(formatter.format(record));
        });
      }).completion().await(10, TimeUnit.SECONDS);
      vertx.eventBus().send("log-test", "go");
      String line = logged.get(10, TimeUnit.SECONDS);
      assertThat(line).endsWith(System.lineSeparator()).doesNotContain("\n{");
      JsonObject json = new JsonObject(line);
      assertThat(json.getString("level")).isEqualTo("WARN");
      assertThat(json.getString("node")).isEqualTo("n1");
      assertThat(json.getString("logger")).isEqualTo("dev.agenthub.X");
      assertThat(json.getString("message")).isEqualTo("turn t1 slow");
      assertThat(json.getString("agent")).isEqualTo("support");
      assertThat(json.getString("session")).isEqualTo("acme/s1");
      assertThat(json.getString("request_id")).isEqualTo("req-7");
      assertThat(json.getString("error")).isEqualTo("java.lang.IllegalStateException: boom");
      assertThat(json.getString("stack")).contains("at ");
      assertThat(json.getString("time")).matches("\\d{4}-\\d{2}-\\d{2}T.*Z");
      // outside any context: no fields, still a line
      JsonObject bare = new JsonObject(formatter.format(new LogRecord(Level.INFO, "started")));
      assertThat(bare.containsKey("agent")).isFalse();
      assertThat(bare.getString("level")).isEqualTo("INFO");
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void theEnvironmentChoosesOverTheConfigAndAutoFollowsTheTerminal() {
    assertThat(LogFormat.resolve(Map.of(), "auto", true)).isEqualTo("text");
    assertThat(LogFormat.resolve(Map.of(), "auto", false)).isEqualTo("json");
    assertThat(LogFormat.resolve(Map.of(), "json", true)).isEqualTo("json");
    assertThat(LogFormat.resolve(Map.of("AGENTHUB_LOG_FORMAT", "JSON"), "text", true)).isEqualTo("json");
    assertThat(LogFormat.resolve(Map.of("AGENTHUB_LOG_FORMAT", "text"), "json", false)).isEqualTo("text");
    assertThatThrownBy(() -> LogFormat.resolve(Map.of("AGENTHUB_LOG_FORMAT", "xml"), "auto", true))
      .hasMessageContaining("AGENTHUB_LOG_FORMAT must be json, text or auto");
  }
}

package dev.agenthub.memory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** SIGKILL a writer JVM in the middle of a stream of appends; nothing acknowledged may be lost or torn. */
class CrashRecoveryTest {

  private static final Pattern ENTRY = Pattern.compile("## \\S+ w\n\nentry (e\\d+)( x*)?\n\n");

  @Test
  void aKilledWriterLosesNothingItAcknowledged(@TempDir Path dir) throws Exception {
    for (int round = 0; round < 3; round++) {
      Map<String, String> acked = killDuringAppends(dir, 1500 + round * 700);
      List<String> log = new ArrayList<>();
      try (MarkdownStore store = MarkdownStore.open(dir, 1, MarkdownStore.Options.defaults(), log::add)) {
        Map<String, Integer> seen = new HashMap<>();
        for (int f = 0; f < 3; f++) {
          String path = "shared/file" + f + ".md";
          String text = store.read(path);
          Matcher m = ENTRY.matcher(text);
          int pos = 0;
          while (m.find()) {
            assertThat(m.start()).as(path + ": whole entries only, at " + pos).isEqualTo(pos);
            seen.merge(m.group(1), 1, Integer::sum);
            pos = m.end();
          }
          assertThat(pos).as(path + ": no torn tail").isEqualTo(text.getBytes(StandardCharsets.UTF_8).length);
        }
        assertThat(seen.values()).as("no entry twice").allMatch(n -> n == 1);
        assertThat(seen.keySet()).as("every acknowledged entry").containsAll(acked.keySet());
      }
    }
  }

  private static Map<String, String> killDuringAppends(Path dir, int acks) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), CrashWriter.class.getName(),
      dir.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    Map<String, String> acked = new HashMap<>();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        String[] parts = line.split(" ");
        if (parts.length == 3 && parts[0].equals("acked")) {
          acked.put(parts[1], parts[2]);
        }
        if (acked.size() == acks) {
          p.toHandle().destroyForcibly(); // SIGKILL while appends are in flight (keeps our pipe open)
        }
      }
    }
    assertThat(p.waitFor(1, TimeUnit.MINUTES)).isTrue();
    assertThat(acked.size()).isGreaterThanOrEqualTo(acks);
    return acked;
  }
}

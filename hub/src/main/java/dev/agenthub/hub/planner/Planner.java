package dev.agenthub.hub.planner;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.config.HubConfig;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * The capacity and cost planner: from a workload profile and the configured prices, the monthly
 * cost all-large, all-small and mixed; peak RPM/TPM and the keys they need; nodes from the measured
 * per-node throughput; memory growth. Plain arithmetic, every assumption a named constant.
 */
public final class Planner {

  /** Turns per second one node served at 1 s model latency ({@code scripts/bench sessions}). */
  public static final double MEASURED_TURNS_PER_NODE_SECOND = 1_565;
  /** Plan nodes to run at half of what they measured, leaving room for spikes and a failed node. */
  public static final double NODE_HEADROOM = 0.5;
  /** A heartbeat's light context and short answer, in tokens. */
  public static final int HEARTBEAT_INPUT_TOKENS = 600;
  public static final int HEARTBEAT_OUTPUT_TOKENS = 50;
  /** The user's part of a message, in characters, as written to the transcript. */
  public static final int USER_MESSAGE_CHARS = 240;
  /** Markdown headings and blank lines around a turn's two transcript entries. */
  public static final int TRANSCRIPT_OVERHEAD_BYTES = 100;
  public static final int DAYS_PER_MONTH = 30;

  /** The workload; defaults reproduce the published ranges with the default prices. */
  public record Profile(long messagesPerDay, long heartbeatMs, int agents, int contextTokens, int outputTokens,
                        double routineShare, double peakFactor) {
    public static Profile defaults(int agents) {
      return new Profile(1_000, 30 * 60_000, agents, 2_500, 250, 0.8, 3.0);
    }
  }

  /** Prices per million tokens of the small (routine) and large (complex) model, and one key's limits. */
  public record Prices(String small, double smallIn, double smallOut, String large, double largeIn, double largeOut,
                       int keyRpm, int keyTpm) {
    public static Prices from(HubConfig config) {
      AgentSpec first = config.agents().get(0);
      HubConfig.Model s = config.models().get(first.routineModel());
      HubConfig.Model l = config.models().get(first.complexModel());
      int rpm = 500;
      int tpm = 200_000;
      for (HubConfig.Provider p : config.providers().values()) {
        if (!p.keys().isEmpty()) {
          rpm = p.keys().get(0).rpm();
          tpm = p.keys().get(0).tpm();
          break;
        }
      }
      return new Prices(s.id(), s.inputPerMillion(), s.outputPerMillion(), l.id(), l.inputPerMillion(),
        l.outputPerMillion(), rpm, tpm);
    }
  }

  /** The plan. */
  public record Plan(Profile profile, Prices prices, double large, double small, double mix, long peakRpm,
                     long peakTpm, int keysNeeded, int nodesNeeded, double storageGbPerMonth) {

    public double savingPercent() {
      return large <= 0 ? 0 : 100 * (1 - mix / large);
    }

    public JsonObject toJson() {
      return new JsonObject()
        .put("monthly_usd", new JsonObject().put("large", round(large)).put("small", round(small)).put("mix", round(mix)))
        .put("peak_rpm", peakRpm).put("peak_tpm", peakTpm).put("keys_needed", keysNeeded)
        .put("nodes_needed", nodesNeeded).put("storage_gb_per_month", Math.round(storageGbPerMonth * 1000) / 1000.0)
        .put("saving_pct", Math.round(savingPercent() * 10) / 10.0)
        .put("profile", new JsonObject().put("messages_per_day", profile.messagesPerDay())
          .put("heartbeat_ms", profile.heartbeatMs()).put("agents", profile.agents())
          .put("context_tokens", profile.contextTokens()).put("output_tokens", profile.outputTokens())
          .put("routine_share", profile.routineShare()).put("peak_factor", profile.peakFactor()))
        .put("models", new JsonObject().put("small", prices.small()).put("large", prices.large()));
    }

    public String toText() {
      return String.format(Locale.ROOT, """
        agenthub capacity and cost plan
          workload: %,d messages/day, %d agents, heartbeat %s, %,d input + %,d output tokens per message,
                    %.0f%% of turns on the routine model, peak hour %.1fx the average
          prices:   small %s $%.2f/$%.2f, large %s $%.2f/$%.2f per 1M tokens (input/output)

          monthly cost   all-large  $%,10.2f
                         all-small  $%,10.2f
                         mix        $%,10.2f   (%.0f%% less than all-large)
          peak load      %,d requests/min, %,d tokens/min
          API keys       %d (at %,d RPM / %,d TPM each)
          nodes          %d (at %.0f%% of the %,.0f turns/s one node measured; run 2+ for failover)
          memory growth  %.3f GB/month of Markdown transcripts and logs
        """, profile.messagesPerDay(), profile.agents(), profile.heartbeatMs() == 0 ? "off"
          : (profile.heartbeatMs() / 60_000) + "m", profile.contextTokens(), profile.outputTokens(),
        profile.routineShare() * 100, profile.peakFactor(), prices.small(), prices.smallIn(), prices.smallOut(),
        prices.large(), prices.largeIn(), prices.largeOut(), large, small, mix, savingPercent(), peakRpm, peakTpm,
        keysNeeded, prices.keyRpm(), prices.keyTpm(), nodesNeeded, NODE_HEADROOM * 100,
        MEASURED_TURNS_PER_NODE_SECOND, storageGbPerMonth);
    }

    private static double round(double usd) {
      return Math.round(usd * 100) / 100.0;
    }
  }

  private Planner() {
  }

  public static Plan plan(Profile p, Prices prices) {
    double messages = p.messagesPerDay() * (double) DAYS_PER_MONTH;
    double beats = p.heartbeatMs() <= 0 ? 0 : p.agents() * (DAYS_PER_MONTH * 86_400_000.0 / p.heartbeatMs());
    double smallPerMessage = (p.contextTokens() * prices.smallIn() + p.outputTokens() * prices.smallOut()) / 1e6;
    double largePerMessage = (p.contextTokens() * prices.largeIn() + p.outputTokens() * prices.largeOut()) / 1e6;
    // heartbeats always use the routine model, with a light context
    double beatCost = beats * (HEARTBEAT_INPUT_TOKENS * prices.smallIn() + HEARTBEAT_OUTPUT_TOKENS * prices.smallOut()) / 1e6;
    double large = messages * largePerMessage + beatCost;
    double small = messages * smallPerMessage + beatCost;
    double mix = messages * (p.routineShare() * smallPerMessage + (1 - p.routineShare()) * largePerMessage) + beatCost;

    double messageRpm = p.messagesPerDay() / 1440.0 * p.peakFactor();
    double beatRpm = p.heartbeatMs() <= 0 ? 0 : p.agents() * 60_000.0 / p.heartbeatMs();
    long peakRpm = (long) Math.ceil(messageRpm + beatRpm);
    long peakTpm = (long) Math.ceil(messageRpm * (p.contextTokens() + p.outputTokens())
      + beatRpm * (HEARTBEAT_INPUT_TOKENS + HEARTBEAT_OUTPUT_TOKENS));
    int keys = (int) Math.max(1, Math.max(Math.ceil((double) peakRpm / prices.keyRpm()),
      Math.ceil((double) peakTpm / prices.keyTpm())));
    double peakPerSecond = peakRpm / 60.0;
    int nodes = (int) Math.max(1, Math.ceil(peakPerSecond / (MEASURED_TURNS_PER_NODE_SECOND * NODE_HEADROOM)));
    double bytesPerMessage = USER_MESSAGE_CHARS + 4.0 * p.outputTokens() + TRANSCRIPT_OVERHEAD_BYTES;
    double storage = (messages * bytesPerMessage + beats * (4.0 * HEARTBEAT_OUTPUT_TOKENS + 60)) / 1e9;
    return new Plan(p, prices, large, small, mix, peakRpm, peakTpm, keys, nodes, storage);
  }

  /**
   * Tokens per message and the routine share as this month's ledger saw them (the journals under
   * {@code ledgerDir}); null when there is nothing to learn from.
   */
  public static Profile calibrate(Profile p, Path ledgerDir, HubConfig config) throws IOException {
    Set<String> routine = new HashSet<>();
    config.agents().forEach(a -> routine.add(a.routineModel()));
    String month = YearMonth.now(ZoneOffset.UTC).toString();
    long calls = 0;
    long in = 0;
    long out = 0;
    long onRoutine = 0;
    if (!Files.isDirectory(ledgerDir)) {
      return null;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(ledgerDir, "*.jsonl")) {
      for (Path f : files) {
        for (String line : Files.readAllLines(f)) {
          try {
            JsonObject e = new JsonObject(line);
            if (!month.equals(e.getString("month")) || e.getBoolean("cached", false)) {
              continue;
            }
            calls++;
            in += e.getLong("input", 0L);
            out += e.getLong("output", 0L);
            if (routine.contains(e.getString("model"))) {
              onRoutine++;
            }
          } catch (RuntimeException ignored) {
            // a torn last line
          }
        }
      }
    }
    if (calls == 0) {
      return null;
    }
    return new Profile(p.messagesPerDay(), p.heartbeatMs(), p.agents(), (int) (in / calls), (int) (out / calls),
      (double) onRoutine / calls, p.peakFactor());
  }
}

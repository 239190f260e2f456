package dev.agenthub.governor;

import dev.agenthub.config.HubConfig;
import dev.agenthub.protocol.TokenCounter;
import dev.agenthub.protocol.Tokens;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The token counter of each configured model: OpenAI's own tokenizer (o200k_base for the gpt-4o,
 * gpt-4.1, gpt-5 and o-series families, cl100k_base for gpt-4 and gpt-3.5) where a model on an OpenAI
 * provider has one, otherwise an estimate calibrated by what the provider reports (its ratio of
 * reported to estimated prompt tokens, averaged over recent calls). One per node, shared by the agents
 * (context trimming) and the governor (reservations); thread-safe.
 */
public final class TokenCounters implements Function<String, TokenCounter> {

  private final Map<String, TokenCounter> byModel = new HashMap<>();

  public TokenCounters(HubConfig config) {
    for (HubConfig.Model m : config.models().values()) {
      HubConfig.Provider p = config.providers().get(m.provider());
      Optional<TokenCounter> exact = p.type() == HubConfig.ProviderType.OPENAI ? OpenAiModels.tokenizer(m.name()) : Optional.empty();
      byModel.put(m.id(), exact.orElseGet(Calibrated::new));
    }
  }

  @Override
  public TokenCounter apply(String model) {
    return byModel.getOrDefault(model, TokenCounter.ESTIMATE);
  }

  /** Whether the model's count is an estimate that learns from the provider's reports. */
  boolean calibrating(String model) {
    return byModel.get(model) instanceof Calibrated;
  }

  /** Teaches a calibrated counter what the provider counted for a prompt it estimated. */
  void observe(String model, long estimated, long reported) {
    if (byModel.get(model) instanceof Calibrated c && estimated > 0 && reported > 0) {
      c.observe((double) reported / estimated);
    }
  }

  /** Four characters a token, scaled by the provider's recent ratio of reported to estimated tokens. */
  private static final class Calibrated implements TokenCounter {
    private static final double WEIGHT = 0.05;
    private volatile double ratio = 1.0;

    @Override
    public int count(String text) {
      int estimate = Tokens.estimate(text);
      return estimate == 0 ? 0 : (int) Math.ceil(estimate * ratio);
    }

    void observe(double sample) {
      double clamped = Math.max(0.25, Math.min(4.0, sample));
      // the input estimate came from this counter: undo its own ratio to learn the plain one
      ratio = Math.max(0.25, Math.min(4.0, ratio * (1 - WEIGHT) + clamped * ratio * WEIGHT));
    }
  }
}

package dev.agenthub.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code providers:} and {@code models:}: where calls go, with which keys, limits and prices.
 */
final class ProviderConfig {

  private ProviderConfig() {
  }

  static Map<String, HubConfig.Provider> providers(Fields f) {
    Map<String, HubConfig.Provider> out = new LinkedHashMap<>();
    for (Object key : ConfigLoader.rawKeys(f)) {
      String id = String.valueOf(key);
      Fields p = f.section(id, Set.of("type", "base-url", "local", "latency-ms", "keys", "timeout", "max-retries",
        "max-connections", "max-waiting", "http2", "circuit", "ca-file"));
      p.rejectUnknown();
      String type = p.requiredString("type");
      if (!Set.of("sim", "openai", "anthropic").contains(type)) {
        throw new ConfigException(p.field("type"), "must be sim, openai or anthropic, got '" + type + "'");
      }
      HubConfig.ProviderType providerType = HubConfig.ProviderType.valueOf(type.toUpperCase(Locale.ROOT));
      List<HubConfig.Key> keys = new ArrayList<>();
      List<Object> rawKeys = p.list("keys");
      Set<String> keyIds = new HashSet<>();
      for (int i = 0; i < rawKeys.size(); i++) {
        Fields k = new Fields(p.field("keys") + "[" + i + "]", rawKeys.get(i),
          Set.of("id", "secret-env", "secret-file", "rpm", "tpm"));
        k.rejectUnknown();
        String keyId = k.requiredString("id");
        if (!keyIds.add(keyId)) {
          throw new ConfigException(k.field("id"), "duplicate key id '" + keyId + "'");
        }
        String env = k.string("secret-env", null);
        String file = k.string("secret-file", null);
        if (env == null && file == null) {
          throw new ConfigException(k.path(), "needs secret-env or secret-file (API keys never go in the YAML)");
        }
        keys.add(new HubConfig.Key(keyId, env, file, k.integer("rpm", 60, 1, 10_000_000),
          k.integer("tpm", 100_000, 1, Integer.MAX_VALUE)));
      }
      String baseUrl = p.string("base-url", null);
      if (!type.equals("sim")) {
        if (baseUrl == null || !(baseUrl.startsWith("http://") || baseUrl.startsWith("https://"))) {
          throw new ConfigException(p.field("base-url"), "must be an http:// or https:// URL for a " + type + " provider");
        }
      }
      if (!type.equals("sim") && keys.isEmpty()) {
        throw new ConfigException(p.field("keys"), "a " + type + " provider needs at least one key");
      }
      // YAML 1.1 reads a bare on/off as true/false: take them as written
      String http2 = p.raw("http2") instanceof Boolean b ? (b ? "on" : "off") : p.string("http2", "auto");
      if (!Set.of("auto", "on", "off").contains(http2)) {
        throw new ConfigException(p.field("http2"), "must be auto, on or off, got '" + http2 + "'");
      }
      HubConfig.Circuit circuit = HubConfig.Circuit.DEFAULT;
      if (p.has("circuit")) {
        Fields c = p.section("circuit", Set.of("failures", "open"));
        c.rejectUnknown();
        circuit = new HubConfig.Circuit(c.integer("failures", 5, 0, 1_000_000), c.durationMs("open", 30_000));
        if (circuit.failures() > 0 && circuit.openMs() < 100) {
          throw new ConfigException(c.field("open"), "must be at least 100ms");
        }
      }
      String ca = p.string("ca-file", null);
      if (ca != null && !Files.isReadable(Path.of(ca))) {
        throw new ConfigException(p.field("ca-file"), "cannot read " + ca);
      }
      out.put(id, new HubConfig.Provider(id, providerType, baseUrl, p.bool("local", type.equals("sim")),
        p.integer("latency-ms", 40, 0, 600_000), keys, p.durationMs("timeout", 60_000),
        p.integer("max-retries", 4, 0, 20), p.integer("max-connections", 1000, 1, 100_000),
        p.integer("max-waiting", 10_000, 0, 1_000_000), HubConfig.Http2.valueOf(http2.toUpperCase(Locale.ROOT)),
        circuit, ca));
    }
    if (out.isEmpty()) {
      throw new ConfigException("providers", "must define at least one provider");
    }
    return out;
  }

  static Map<String, HubConfig.Model> models(Fields f, Map<String, HubConfig.Provider> providers) {
    Map<String, HubConfig.Model> out = new LinkedHashMap<>();
    for (Object key : ConfigLoader.rawKeys(f)) {
      String id = String.valueOf(key);
      Fields m = f.section(id, Set.of("provider", "input", "output", "fallbacks", "name", "cached-input",
        "cache-write", "token-param"));
      m.rejectUnknown();
      String provider = m.requiredString("provider");
      if (!providers.containsKey(provider)) {
        throw new ConfigException(m.field("provider"), "unknown provider '" + provider + "' (defined: "
          + String.join(", ", providers.keySet()) + ")");
      }
      String tokenParam = m.string("token-param", "max_completion_tokens");
      if (!Set.of("max_completion_tokens", "max_tokens").contains(tokenParam)) {
        throw new ConfigException(m.field("token-param"), "must be max_completion_tokens or max_tokens, got '"
          + tokenParam + "'");
      }
      double input = m.number("input", 0, 0);
      out.put(id, new HubConfig.Model(id, provider, m.string("name", id), input, m.number("output", 0, 0),
        m.number("cached-input", input, 0), m.number("cache-write", input, 0), tokenParam,
        m.strings("fallbacks", List.of())));
    }
    if (out.isEmpty()) {
      throw new ConfigException("models", "must define at least one model");
    }
    for (HubConfig.Model model : out.values()) {
      for (String fb : model.fallbacks()) {
        if (!out.containsKey(fb) || fb.equals(model.id())) {
          throw new ConfigException("models." + model.id() + ".fallbacks", "unknown model '" + fb + "'");
        }
      }
    }
    return out;
  }
}

package dev.agenthub.hub.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads the API key secrets the configuration points at (environment variables or files, such as
 * Kubernetes Secrets mounted as files), once at start. A missing one stops the node with one line
 * naming the field; the value itself is never printed.
 */
public final class Secrets {

  private Secrets() {
  }

  /** Secrets by {@code <provider>/<key id>}. */
  public static Map<String, String> load(HubConfig config, Map<String, String> env) {
    Map<String, String> out = new HashMap<>();
    for (HubConfig.Provider p : config.providers().values()) {
      for (int i = 0; i < p.keys().size(); i++) {
        HubConfig.Key k = p.keys().get(i);
        String field = "providers." + p.id() + ".keys[" + i + "]";
        String secret;
        if (k.secretEnv() != null) {
          secret = env.get(k.secretEnv());
          if (secret == null || secret.isBlank()) {
            throw new ConfigException(field + ".secret-env", "environment variable " + k.secretEnv() + " is not set");
          }
        } else {
          try {
            secret = Files.readString(Path.of(k.secretFile()), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new ConfigException(field + ".secret-file", "cannot read " + k.secretFile());
          }
          if (secret.isBlank()) {
            throw new ConfigException(field + ".secret-file", k.secretFile() + " is empty");
          }
        }
        out.put(p.id() + "/" + k.id(), secret.strip());
      }
    }
    return out;
  }
}

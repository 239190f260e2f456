package dev.agenthub.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A typed, strict view of one YAML mapping: every getter names the full field path in its error,
 * and {@link #rejectUnknown()} refuses keys nobody asked for (typos must not pass silently).
 */
final class Fields {

  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h|d)?");
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KiB|MiB|GiB|KB|MB|GB)?");

  private final String path;
  private final Map<String, Object> map;
  private final Set<String> allowed;

  @SuppressWarnings("unchecked")
  Fields(String path, Object raw, Set<String> allowed) {
    this.path = path;
    this.allowed = allowed;
    if (raw == null) {
      this.map = new LinkedHashMap<>();
    } else if (raw instanceof Map<?, ?> m) {
      this.map = (Map<String, Object>) m;
    } else {
      throw new ConfigException(path.isEmpty() ? "(top level)" : path, "must be a mapping, got " + describe(raw));
    }
  }

  String path() {
    return path;
  }

  String field(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  Set<String> keys() {
    return map.keySet();
  }

  boolean has(String key) {
    return map.get(key) != null;
  }

  Object raw(String key) {
    return map.get(key);
  }

  void rejectUnknown() {
    for (Object key : map.keySet()) {
      if (!(key instanceof String k) || !allowed.contains(k)) {
        throw new ConfigException(field(String.valueOf(key)), "unknown field (allowed: " + String.join(", ", allowed) + ")");
      }
    }
  }

  Fields section(String key, Set<String> allowedKeys) {
    return new Fields(field(key), map.get(key), allowedKeys);
  }

  String string(String key, String def) {
    Object v = map.get(key);
    if (v == null) {
      return def;
    }
    if (v instanceof String s) {
      return s;
    }
    if (v instanceof Number || v instanceof Boolean) {
      return String.valueOf(v);
    }
    throw new ConfigException(field(key), "must be a string, got " + describe(v));
  }

  /**
   * A value written in the config or read from the environment at start: a string, or
   * {@code { secret-env: NAME }}; null when absent.
   */
  HubConfig.Value value(String key) {
    Object raw = map.get(key);
    if (raw == null) {
      return null;
    }
    if (raw instanceof Map) {
      Fields v = section(key, Set.of("secret-env"));
      v.rejectUnknown();
      return new HubConfig.Value(null, v.requiredString("secret-env"));
    }
    return new HubConfig.Value(string(key, null), null);
  }

  String requiredString(String key) {
    String v = string(key, null);
    if (v == null || v.isBlank()) {
      throw new ConfigException(field(key), "is required");
    }
    return v;
  }

  int integer(String key, int def, int min, int max) {
    Object v = map.get(key);
    if (v == null) {
      return def;
    }
    long n;
    if (v instanceof Integer || v instanceof Long) {
      n = ((Number) v).longValue();
    } else if (v instanceof String s && s.matches("-?\\d+")) {
      n = Long.parseLong(s);
    } else {
      throw new ConfigException(field(key), "must be a whole number, got " + describe(v));
    }
    if (n < min || n > max) {
      throw new ConfigException(field(key), "must be between " + min + " and " + max + ", got " + n);
    }
    return (int) n;
  }

  double number(String key, double def, double min) {
    Object v = map.get(key);
    if (v == null) {
      return def;
    }
    double d;
    if (v instanceof Number num) {
      d = num.doubleValue();
    } else if (v instanceof String s) {
      try {
        d = Double.parseDouble(s);
      } catch (NumberFormatException e) {
        throw new ConfigException(field(key), "must be a number, got " + describe(v));
      }
    } else {
      throw new ConfigException(field(key), "must be a number, got " + describe(v));
    }
    if (Double.isNaN(d) || Double.isInfinite(d) || d < min) {
      throw new ConfigException(field(key), "must be a number >= " + min + ", got " + v);
    }
    return d;
  }

  Double optionalNumber(String key, double min) {
    return has(key) ? number(key, 0, min) : null;
  }

  boolean bool(String key, boolean def) {
    Object v = map.get(key);
    if (v == null) {
      return def;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    if ("true".equals(v)) {
      return true;
    }
    if ("false".equals(v)) {
      return false;
    }
    throw new ConfigException(field(key), "must be true or false, got " + describe(v));
  }

  List<String> strings(String key, List<String> def) {
    Object v = map.get(key);
    if (v == null) {
      return def;
    }
    if (!(v instanceof List<?> list)) {
      throw new ConfigException(field(key), "must be a list, got " + describe(v));
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      Object item = list.get(i);
      if (!(item instanceof String) && !(item instanceof Number)) {
        throw new ConfigException(field(key) + "[" + i + "]", "must be a string, got " + describe(item));
      }
      out.add(String.valueOf(item));
    }
    return out;
  }

  List<Object> list(String key) {
    Object v = map.get(key);
    if (v == null) {
      return List.of();
    }
    if (!(v instanceof List<?> list)) {
      throw new ConfigException(field(key), "must be a list, got " + describe(v));
    }
    return new ArrayList<>(list);
  }

  /** Durations: {@code 500ms}, {@code 1s}, {@code 30m}, {@code 1h}, {@code 2d}; {@code 0} is off. */
  long durationMs(String key, long defMs) {
    Object v = map.get(key);
    if (v == null) {
      return defMs;
    }
    return parseDurationMs(field(key), String.valueOf(v));
  }

  static long parseDurationMs(String field, String text) {
    Matcher m = DURATION.matcher(text.trim());
    if (!m.matches()) {
      throw new ConfigException(field, "must be a duration like 500ms, 1s, 30m or 1h, got '" + text + "'");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2);
    if (unit == null) {
      if (n != 0) {
        throw new ConfigException(field, "needs a unit (ms, s, m, h, d), got '" + text + "'");
      }
      return 0;
    }
    return switch (unit) {
      case "ms" -> n;
      case "s" -> n * 1000;
      case "m" -> n * 60_000;
      case "h" -> n * 3_600_000;
      default -> n * 86_400_000;
    };
  }

  /** Sizes: {@code 512KiB}, {@code 1MiB}; a plain number is bytes. */
  long sizeBytes(String key, long def) {
    Object v = map.get(key);
    if (v == null) {
      return def;
    }
    Matcher m = SIZE.matcher(String.valueOf(v).trim());
    if (!m.matches()) {
      throw new ConfigException(field(key), "must be a size like 512KiB or 1MiB, got '" + v + "'");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "B" : m.group(2);
    long factor = switch (unit) {
      case "KiB" -> 1024L;
      case "MiB" -> 1024L * 1024;
      case "GiB" -> 1024L * 1024 * 1024;
      case "KB" -> 1000L;
      case "MB" -> 1000L * 1000;
      case "GB" -> 1000L * 1000 * 1000;
      default -> 1L;
    };
    return n * factor;
  }

  static String describe(Object v) {
    if (v == null) {
      return "nothing";
    }
    if (v instanceof Map) {
      return "a mapping";
    }
    if (v instanceof List) {
      return "a list";
    }
    if (v instanceof String s) {
      return "'" + s + "'";
    }
    return String.valueOf(v);
  }
}

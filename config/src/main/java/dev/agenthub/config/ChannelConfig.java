package dev.agenthub.config;

import dev.agenthub.agents.AgentSpec;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code channels:} bots on messaging platforms (Telegram, Slack), each bound to an agent and run as
 * a client: the agent must exist, the client may use it, a sensitive agent needs {@code allow-from}.
 */
final class ChannelConfig {

  static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");

  private ChannelConfig() {
  }

  static List<HubConfig.Channel> channels(Fields root, List<AgentSpec> agents, List<HubConfig.Client> clients) {
    if (!root.has("channels")) {
      return List.of();
    }
    List<Object> raw = root.list("channels");
    List<HubConfig.Channel> out = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < raw.size(); i++) {
      Fields c = new Fields("channels[" + i + "]", raw.get(i), Set.of("id", "type", "agent", "client", "token", "mode",
        "secret", "signing-secret", "public-url", "api-base", "allow-from", "routes"));
      c.rejectUnknown();
      String id = c.requiredString("id");
      if (!ID.matcher(id).matches() || !ids.add(id)) {
        throw new ConfigException(c.field("id"), "must be unique, 1-64 of a-z 0-9 -, got '" + id + "'");
      }
      HubConfig.ChannelType type;
      try {
        type = HubConfig.ChannelType.valueOf(c.requiredString("type").toUpperCase());
      } catch (IllegalArgumentException e) {
        throw new ConfigException(c.field("type"), "must be telegram or slack");
      }
      String agent = agent(c, "agent", c.requiredString("agent"), agents);
      String client = c.string("client", null);
      if (!clients.isEmpty() || client != null) {
        if (client == null) {
          throw new ConfigException(c.field("client"), "is required on a hub with clients: a channel's messages run "
            + "as one of them (its rights, rate and budget)");
        }
        HubConfig.Client cl = clients.stream().filter(x -> x.id().equals(client)).findFirst().orElseThrow(() ->
          new ConfigException(c.field("client"), "unknown client '" + client + "'"));
        if (!cl.allAgents() && !cl.agents().contains(agent)) {
          throw new ConfigException(c.field("client"), "client '" + client + "' may not use agent '" + agent + "'");
        }
      }
      HubConfig.Value token = value(c, "token", true);
      String mode = c.string("mode", type == HubConfig.ChannelType.TELEGRAM ? "webhook" : "events");
      HubConfig.Value secret = value(c, "secret", false);
      HubConfig.Value signing = value(c, "signing-secret", false);
      String publicUrl = c.string("public-url", null);
      if (type == HubConfig.ChannelType.TELEGRAM) {
        if (!mode.equals("webhook") && !mode.equals("polling")) {
          throw new ConfigException(c.field("mode"), "must be webhook or polling");
        }
        if (mode.equals("webhook") && (secret == null || publicUrl == null)) {
          throw new ConfigException(c.path(), "a webhook needs secret (the secret_token every update carries) and "
            + "public-url (where Telegram posts)");
        }
      } else {
        if (!mode.equals("events")) {
          throw new ConfigException(c.field("mode"), "Slack channels take events (the Events API)");
        }
        if (signing == null) {
          throw new ConfigException(c.field("signing-secret"), "is required: every request's signature is checked");
        }
      }
      String apiBase = c.string("api-base", type == HubConfig.ChannelType.TELEGRAM ? "https://api.telegram.org"
        : "https://slack.com");
      if (!apiBase.startsWith("http://") && !apiBase.startsWith("https://")) {
        throw new ConfigException(c.field("api-base"), "must be an http:// or https:// URL");
      }
      List<String> allowFrom = c.strings("allow-from", List.of());
      List<HubConfig.ChannelRoute> routes = new ArrayList<>();
      List<Object> rawRoutes = c.has("routes") ? c.list("routes") : List.of();
      for (int j = 0; j < rawRoutes.size(); j++) {
        Fields r = new Fields(c.field("routes") + "[" + j + "]", rawRoutes.get(j), Set.of("match", "agent"));
        r.rejectUnknown();
        Fields m = r.section("match", Set.of("chat", "channel", "user"));
        m.rejectUnknown();
        if (m.keys().size() != 1) {
          throw new ConfigException(m.path(), "names one of chat, channel or user");
        }
        String kind = String.valueOf(m.keys().iterator().next());
        routes.add(new HubConfig.ChannelRoute(kind, m.requiredString(kind), agent(r, "agent", r.requiredString("agent"),
          agents)));
      }
      for (String target : concat(agent, routes)) {
        AgentSpec spec = agents.stream().filter(a -> a.id().equals(target)).findFirst().orElseThrow();
        if (spec.sensitive() && allowFrom.isEmpty()) {
          throw new ConfigException(c.field("allow-from"), "sensitive agent '" + target + "' answers a channel only "
            + "for the chats or users allow-from lists");
        }
      }
      out.add(new HubConfig.Channel(id, type, agent, client, token, mode, secret, signing, publicUrl, apiBase,
        allowFrom, routes));
    }
    return out;
  }

  private static List<String> concat(String agent, List<HubConfig.ChannelRoute> routes) {
    List<String> all = new ArrayList<>(List.of(agent));
    routes.forEach(r -> all.add(r.agent()));
    return all;
  }

  private static String agent(Fields f, String field, String agent, List<AgentSpec> agents) {
    if (agents.stream().noneMatch(a -> a.id().equals(agent))) {
      throw new ConfigException(f.field(field), "unknown agent '" + agent + "'");
    }
    return agent;
  }

  /** {@link Fields#value}, an error when it is {@code required} and absent. */
  private static HubConfig.Value value(Fields c, String key, boolean required) {
    HubConfig.Value v = c.value(key);
    if (v == null && required) {
      throw new ConfigException(c.field(key), "is required ({ secret-env: NAME })");
    }
    return v;
  }

}

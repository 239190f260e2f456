package dev.agenthub.agents;

import dev.agenthub.memory.MemoryClient;
import dev.agenthub.memory.MemoryLayout;
import dev.agenthub.protocol.AgentEvents;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(VertxExtension.class)
class SkillsTest {

  private static final Skills.Call CALL = new Skills.Call("s1", 0, Long.MAX_VALUE);

  private static AgentSpec agent(AgentSpec.Trust trust, List<String> skills) {
    return new AgentSpec("support", trust, 1, List.of("general"), "m", "m", skills, AgentSpec.Limits.defaults(), "p",
      List.of(), List.of(), 0, null, null, List.of("example.com"), true, 1, false);
  }

  private static Skills skills(Vertx vertx, AgentSpec spec, List<String> outcomes) {
    AgentEvents events = new AgentEvents() {
      @Override
      public void skill(String agent, String skill, String outcome) {
        outcomes.add(skill + " " + outcome);
      }
    };
    MessageAuth.Signer signer = MessageAuth.Signer.of("secret".getBytes(StandardCharsets.UTF_8), spec.id());
    return new Skills(vertx, spec, new MemoryClient(vertx, signer, 1_000), events, signer);
  }

  @Test
  void aSkillRunsOnlyIfTheAgentHasItAndItsTrustAllowsIt(Vertx vertx, VertxTestContext test) {
    List<String> outcomes = new ArrayList<>();
    Skills standard = skills(vertx, agent(AgentSpec.Trust.STANDARD, List.of("time.now", "fly")), outcomes);
    Skills sensitive = skills(vertx, agent(AgentSpec.Trust.SENSITIVE, List.of("time.now", "http.fetch")), outcomes);
    Future.all(List.of(
        standard.run("time.now", new JsonObject(), CALL),
        standard.run("memory.read", new JsonObject().put("path", "MEMORY.md"), CALL),
        standard.run("fly", new JsonObject(), CALL),
        sensitive.run("http.fetch", new JsonObject().put("url", "https://example.com/"), CALL)))
      .onComplete(test.succeeding(all -> test.verify(() -> {
        assertThat((String) all.resultAt(0)).endsWith(" (UTC)");
        assertThat((String) all.resultAt(1)).isEqualTo("error: skill 'memory.read' is not allowed for this agent");
        assertThat((String) all.resultAt(2)).as("a name no skill has, even if a config listed it")
          .isEqualTo("error: unknown skill");
        assertThat((String) all.resultAt(3)).as("nothing that reaches outside the hub for a sensitive agent")
          .isEqualTo("error: skill 'http.fetch' is not allowed for this agent");
        assertThat(outcomes).containsExactly("time.now ok", "memory.read refused", "fly error", "http.fetch refused");
        test.completeNow();
      })));
  }

  @Test
  void aClientsTurnSeesItsOwnTranscriptsOnly() {
    Skills.Call web = new Skills.Call("s", 0, Long.MAX_VALUE, "web");
    assertThat(Skills.visible("agents/support/sessions/web/s1.md", web)).isTrue();
    assertThat(Skills.visible("agents/support/sessions/limited/s1.md", web)).isFalse();
    assertThat(Skills.visible("agents/support/sessions/s1.md", web)).as("a session of no client").isFalse();
    assertThat(Skills.visible("agents/support/sessions/archive/s1.1.md", web)).isFalse();
    assertThat(Skills.visible("agents/support/sessions/web/archive/s1.1.md", web)).isTrue();
    assertThat(Skills.visible("agents/sessions/sessions/limited/s1.md", web)).as("an agent named sessions").isFalse();
    assertThat(Skills.visible("agents/support/MEMORY.md", web)).isTrue();
    assertThat(Skills.visible("shared/notes.md", web)).isTrue();
    // without clients (one tenant, loopback only) nothing is hidden
    Skills.Call open = new Skills.Call("s", 0, Long.MAX_VALUE, null);
    assertThat(Skills.visible("agents/support/sessions/limited/s1.md", open)).isTrue();
  }

  @Test
  void aClientsSessionKeyAndTranscriptAreItsOwn() {
    Turn.Request a = Turn.Request.of("s1", "hi").client("web").build();
    Turn.Request b = Turn.Request.of("s1", "hi").client("limited").build();
    assertThat(a.sessionKey()).isEqualTo("web/s1").isNotEqualTo(b.sessionKey());
    assertThat(MemoryLayout.transcript("support", a.sessionKey())).isEqualTo("agents/support/sessions/web/s1.md");
    assertThat(Turn.Request.of("s1", "hi").build().sessionKey()).isEqualTo("s1");
    assertThat(Turn.Request.fromJson(a.toJson()).client()).isEqualTo("web");
  }
}

package dev.agenthub.agents;

import dev.agenthub.memory.MarkdownStore;
import dev.agenthub.memory.MemoryClient;
import dev.agenthub.memory.MemoryPolicy;
import dev.agenthub.memory.SharedMemoryVerticle;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The system prompt an agent builds from memory: its persona, its notes, its skills' instructions,
 * the shared files it may read and today's log; rebuilt when one of its sources changes, not when a
 * transcript does. A real memory writer on a real directory (vertx-junit5).
 */
@ExtendWith(VertxExtension.class)
class ContextSourceTest {

  private static final AgentSpec SPEC = new AgentSpec("support", AgentSpec.Trust.STANDARD, 1, List.of("general"), "m", "m",
    List.of(), AgentSpec.Limits.defaults(), "You are the support agent.", List.of("shared"), List.of("shared"), 0, null,
    null, List.of(), true, 1, false);

  @Test
  void thePromptHoldsEverySourceAndFollowsTheirChanges(Vertx vertx, VertxTestContext test, @TempDir Path dir) {
    SharedMemoryVerticle writer = new SharedMemoryVerticle(dir, MarkdownStore.Options.defaults(),
      new MemoryPolicy(Map.of("support", new MemoryPolicy.Access(List.of("shared"), List.of("shared")))), "n1", false,
      new SharedMemoryVerticle.Listener() { }, null);
    MemoryClient memory = new MemoryClient(vertx, "support", 10_000);
    ContextSource context = new ContextSource(SPEC, memory);
    String today = LocalDate.now(ZoneOffset.UTC).toString();
    vertx.deployVerticle(writer)
      .compose(id -> Future.all(List.of(
        memory.append("agents/support/MEMORY.md", "support", "Customers in Spain get replies in Spanish."),
        memory.replace("agents/support/skills/refunds/SKILL.md", "---\nname: refunds\ndescription: \"how to refund\"\n"
          + "---\nRefund within 30 days, never more than the order."),
        memory.append("shared/policy.md", "ops", "Shipping is free above 50 EUR."),
        memory.append("agents/support/daily/" + today + ".md", "support", "Carrier delays in the north today."))))
      .compose(v -> context.systemPrompt())
      .compose(prompt -> {
        test.verify(() -> {
          assertThat(prompt).startsWith("You are the support agent.")
            .contains("replies in Spanish")
            .contains("## refunds: how to refund").contains("never more than the order")
            .contains("# Shared file shared/policy.md").contains("free above 50 EUR")
            .contains("Carrier delays");
        });
        return memory.append("shared/policy.md", "ops", "Returns are free for members.");
      })
      .compose(v -> {
        // a transcript is not a source: the cached prompt stays
        context.changed("agents/support/sessions/s1.md");
        return context.systemPrompt();
      })
      .compose(prompt -> {
        test.verify(() -> assertThat(prompt).doesNotContain("Returns are free"));
        context.changed("shared/policy.md");
        return context.systemPrompt();
      })
      .onComplete(test.succeeding(prompt -> test.verify(() -> {
        assertThat(prompt).contains("Returns are free for members.");
        test.completeNow();
      })));
  }

  @Test
  void aSkillFileWithoutFrontMatterIsStillInstructions() {
    assertThat(ContextSource.skill("Always confirm the order number.")).isEqualTo(
      "## unnamed\n\nAlways confirm the order number.\n");
    String long_ = "x".repeat(ContextSource.FILE_CAP_CHARS + 10);
    assertThat(ContextSource.skill("---\nname: big\n---\n" + long_)).startsWith("## big\n\n").endsWith("[truncated]\n");
  }
}

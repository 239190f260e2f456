package dev.agenthub.hub.gateway;

import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.testing.HubYaml;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The official OpenAI Java library, unchanged, against /v1/chat/completions. */
class OpenAiSdkTest {

  private static HubNode node;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    node = TestHub.start(HubYaml.yaml("oa1", 0, ""));
    client = OpenAIOkHttpClient.builder().baseUrl(node.url() + "/v1").apiKey("not-needed-with-open-clients").build();
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    node.close().await(1, TimeUnit.MINUTES);
  }

  private static ChatCompletionCreateParams params(String model, String user, String text) {
    return ChatCompletionCreateParams.builder().model(model).user(user)
      .addSystemMessage("ignored: the agent has its own persona").addUserMessage(text).build();
  }

  @Test
  void aPlainCompletion() {
    ChatCompletion completion = client.chat().completions().create(params("support", "sdk-plain", "Where is my order 42?"));
    assertThat(completion.choices()).hasSize(1);
    String content = completion.choices().get(0).message().content().orElseThrow();
    assertThat(content).contains("Where is my order 42?");
    assertThat(completion.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
    assertThat(completion.model()).isEqualTo("support");
    assertThat(completion.usage().orElseThrow().promptTokens()).isPositive();
    assertThat(completion.usage().orElseThrow().completionTokens()).isPositive();
  }

  @Test
  void aStreamedCompletionHasTheSameTextAsAPlainOne() {
    // same agent, same prompt, fresh sessions: the sim answers identically, so the stream must add up to it
    String plain = client.chat().completions().create(params("agent:ops", "sdk-a", "Restart the web tier"))
      .choices().get(0).message().content().orElseThrow();
    StringBuilder streamed = new StringBuilder();
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> stream =
           client.chat().completions().createStreaming(params("agent:ops", "sdk-b", "Restart the web tier"))) {
      stream.stream().forEach(chunk -> {
        chunks.add(chunk);
        chunk.choices().forEach(c -> c.delta().content().ifPresent(streamed::append));
      });
    }
    assertThat(streamed.toString()).isEqualTo(plain);
    assertThat(chunks.size()).isGreaterThan(2);
    ChatCompletionChunk last = chunks.get(chunks.size() - 1);
    assertThat(last.choices().get(0).finishReason()).hasValue(ChatCompletionChunk.Choice.FinishReason.STOP);
    assertThat(last.usage().orElseThrow().totalTokens()).isPositive();
  }

  @Test
  void theUserFieldIsTheSession() {
    client.chat().completions().create(params("assistant", "sdk-session", "first"));
    String second = client.chat().completions().create(params("assistant", "sdk-session", "second"))
      .choices().get(0).message().content().orElseThrow();
    assertThat(second).contains("message 2 of our conversation");
  }

  @Test
  void anUnknownAgentIsTheSdksNotFound() {
    assertThatThrownBy(() -> client.chat().completions().create(params("nobody", "sdk-x", "hi")))
      .isInstanceOf(NotFoundException.class)
      .hasMessageContaining("unknown agent");
  }

  @Test
  void theStreamEndsWithDone() throws Exception {
    HttpResponse<String> r = TestHub.post(node.url() + "/v1/chat/completions",
      "{\"model\":\"support\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
    assertThat(r.body()).startsWith("data: {").endsWith("data: [DONE]\n\n");
    // no user and no X-Session-Id: stateless, no session was opened
    assertThat(r.headers().firstValue("x-session-id")).isEmpty();
    HttpResponse<String> withSession = TestHub.post(node.url() + "/v1/chat/completions",
      "{\"model\":\"support\",\"user\":\"s-9\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assertThat(withSession.headers().firstValue("x-session-id")).hasValue("s-9");
  }
}

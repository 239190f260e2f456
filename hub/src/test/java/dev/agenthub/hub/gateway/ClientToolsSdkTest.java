package dev.agenthub.hub.gateway;

import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The client's own tools through the official OpenAI Java library, unchanged, against a real node on
 * the sim model: the model calls one ({@code /tool get_weather {...}}), the turn ends with OpenAI's
 * {@code tool_calls}, and the client's result finishes it; stateless and in a session, plain and
 * streamed; {@code tool_choice} honoured; bad tools and unknown results refused by name.
 */
class ClientToolsSdkTest {

  private static final Path MEMORY = Fixtures.freshDir();
  private static final String ASK = "/tool get_weather {\"city\":\"Paris\"}";
  private static final String WEATHER = "18C and sunny in Paris";
  private static HubNode node;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    node = TestHub.start(HubYaml.yaml("ct1", 0, HubYaml.memoryYaml(MEMORY)));
    client = OpenAIOkHttpClient.builder().baseUrl(node.url() + "/v1").apiKey("not-needed-with-open-clients").build();
  }

  @AfterAll
  static void stop() throws Exception {
    client.close();
    node.close().await(1, TimeUnit.MINUTES);
  }

  private static ChatCompletionFunctionTool tool(String name) {
    return ChatCompletionFunctionTool.builder().function(FunctionDefinition.builder().name(name)
      .description("the " + name.replace('_', ' ')).parameters(FunctionParameters.builder()
        .putAdditionalProperty("type", JsonValue.from("object"))
        .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
        .build()).build()).build();
  }

  /** A conversation on {@code support} offering the client's get_weather (and whatever {@code more} adds). */
  private static ChatCompletionCreateParams.Builder ask(String user, String text) {
    ChatCompletionCreateParams.Builder b = ChatCompletionCreateParams.builder().model("support").addTool(tool("get_weather"))
      .addUserMessage(text);
    if (user != null) {
      b.user(user);
    }
    return b;
  }

  private static ChatCompletionMessageFunctionToolCall onlyCall(ChatCompletion completion) {
    ChatCompletion.Choice choice = completion.choices().get(0);
    assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
    assertThat(choice.message().toolCalls()).hasValueSatisfying(calls -> assertThat(calls).hasSize(1));
    return choice.message().toolCalls().orElseThrow().get(0).asFunction();
  }

  private static void isTheWeatherCall(ChatCompletionMessageFunctionToolCall call) {
    assertThat(call.id()).isNotBlank();
    assertThat(call.function().name()).isEqualTo("get_weather");
    assertThat(new JsonObject(call.function().arguments())).isEqualTo(new JsonObject().put("city", "Paris"));
  }

  /** The same conversation, the model's tool call message and the client's result after it. */
  private static ChatCompletionCreateParams withResult(ChatCompletionCreateParams.Builder asked, ChatCompletionMessage called,
                                                       String result) {
    ChatCompletionMessageFunctionToolCall call = called.toolCalls().orElseThrow().get(0).asFunction();
    return asked.addMessage(called)
      .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content(result).build()).build();
  }

  private static String text(ChatCompletion completion) {
    assertThat(completion.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
    return completion.choices().get(0).message().content().orElseThrow();
  }

  @Test
  void statelessTheCallEndsTheTurnAndTheResultFinishesIt() {
    ChatCompletion called = client.chat().completions().create(ask(null, ASK).build());
    isTheWeatherCall(onlyCall(called));
    assertThat(called.choices().get(0).message().content()).isEmpty();
    assertThat(called.usage().orElseThrow().completionTokens()).isPositive();
    // the client runs its tool and sends the whole conversation back with the result
    String answer = text(client.chat().completions().create(withResult(ask(null, ASK), called.choices().get(0).message(),
      WEATHER)));
    assertThat(answer).contains("Tool result: " + WEATHER);
  }

  @Test
  void inASessionTheTranscriptKeepsTheCallAndTakesTheResult() throws Exception {
    ChatCompletion called = client.chat().completions().create(ask("ct-session", ASK).build());
    isTheWeatherCall(onlyCall(called));
    Path transcript = MEMORY.resolve("agents/support/sessions/ct-session.md");
    assertThat(Files.readString(transcript)).contains(" tool_calls\n\n{").contains("get_weather");
    // the session waits for the result: a new user message is refused
    assertThatThrownBy(() -> client.chat().completions().create(ask("ct-session", "never mind").build()))
      .isInstanceOfSatisfying(BadRequestException.class, e -> {
        assertThat(e.param()).hasValue("messages");
        assertThat(e.getMessage()).contains("waits for the results of its tool calls");
      });
    String answer = text(client.chat().completions().create(withResult(ask("ct-session", ASK),
      called.choices().get(0).message(), WEATHER)));
    assertThat(answer).contains("Tool result: " + WEATHER);
    assertThat(Files.readString(transcript)).contains(" tool_result\n\n{").contains(WEATHER);
    // the session goes on: its history held the step and the result in OpenAI's shape
    String next = text(client.chat().completions().create(ask("ct-session", "thanks, and tomorrow?").build()));
    assertThat(next).contains("message 2 of our conversation");
  }

  @Test
  void inASessionOnlyTheNewResultsNeedBeSent() {
    ChatCompletion called = client.chat().completions().create(ask("ct-short", ASK).build());
    ChatCompletionMessageFunctionToolCall call = onlyCall(called);
    // the transcript is authoritative: the tool message alone continues the turn
    String answer = text(client.chat().completions().create(ChatCompletionCreateParams.builder().model("support")
      .user("ct-short").addTool(tool("get_weather"))
      .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content(WEATHER).build()).build()));
    assertThat(answer).contains("Tool result: " + WEATHER);
  }

  @Test
  void theAgentsOwnToolsRunFirstAndOnlyTheClientsComeBack() throws Exception {
    String both = "/tool time.now {}\n" + ASK;
    ChatCompletion called = client.chat().completions().create(ask("ct-mixed", both).build());
    isTheWeatherCall(onlyCall(called));
    String transcript = Files.readString(MEMORY.resolve("agents/support/sessions/ct-mixed.md"));
    assertThat(transcript).contains(" tool\n\ntime.now {}");
    String answer = text(client.chat().completions().create(withResult(ask("ct-mixed", both),
      called.choices().get(0).message(), WEATHER)));
    // the agent's own result is in the session's history too
    assertThat(answer).contains("Tool result: " + WEATHER).contains("(UTC)");
  }

  @Test
  void streamedTheCallComesInChunksAndTheResultStreamsTheAnswer() {
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    ChatCompletionAccumulator acc = ChatCompletionAccumulator.create();
    // usage in a chunk of its own, as OpenAI sends it when asked: the SDK's accumulator takes nothing else
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(ask(null, ASK)
      .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
      stream.stream().forEach(chunk -> {
        chunks.add(chunk);
        acc.accumulate(chunk);
      });
    }
    // OpenAI's order: the call's index, id, type and name, then its arguments, then the finish reason
    ChatCompletionChunk.Choice.Delta.ToolCall head = chunks.get(0).choices().get(0).delta().toolCalls().orElseThrow().get(0);
    assertThat(head.index()).isZero();
    assertThat(head.id()).isPresent();
    assertThat(head.type()).hasValue(ChatCompletionChunk.Choice.Delta.ToolCall.Type.FUNCTION);
    assertThat(head.function().orElseThrow().name()).hasValue("get_weather");
    ChatCompletionChunk.Choice.Delta.ToolCall args = chunks.get(1).choices().get(0).delta().toolCalls().orElseThrow().get(0);
    assertThat(args.function().orElseThrow().arguments()).hasValue("{\"city\":\"Paris\"}");
    ChatCompletionChunk finish = chunks.get(chunks.size() - 2);
    assertThat(finish.choices().get(0).finishReason()).hasValue(ChatCompletionChunk.Choice.FinishReason.TOOL_CALLS);
    assertThat(finish.usage()).isEmpty();
    ChatCompletionChunk last = chunks.get(chunks.size() - 1);
    assertThat(last.choices()).isEmpty();
    assertThat(last.usage().orElseThrow().totalTokens()).isPositive();
    ChatCompletion called = acc.chatCompletion();
    isTheWeatherCall(onlyCall(called));

    StringBuilder streamed = new StringBuilder();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
      withResult(ask(null, ASK), called.choices().get(0).message(), WEATHER))) {
      stream.stream().forEach(chunk -> chunk.choices().forEach(c -> c.delta().content().ifPresent(streamed::append)));
    }
    assertThat(streamed.toString()).contains("Tool result: " + WEATHER);
  }

  @Test
  void streamedInASession() {
    ChatCompletionAccumulator acc = ChatCompletionAccumulator.create();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(ask("ct-stream", ASK)
      .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
      stream.stream().forEach(acc::accumulate);
    }
    ChatCompletion called = acc.chatCompletion();
    assertThat(called.usage().orElseThrow().promptTokens()).isPositive();
    isTheWeatherCall(onlyCall(called));
    StringBuilder streamed = new StringBuilder();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
      withResult(ask("ct-stream", ASK), called.choices().get(0).message(), WEATHER))) {
      stream.stream().forEach(chunk -> chunk.choices().forEach(c -> c.delta().content().ifPresent(streamed::append)));
    }
    assertThat(streamed.toString()).contains("Tool result: " + WEATHER);
  }

  @Test
  void toolChoiceIsHonoured() {
    // none: no tool is called, whatever the message asks
    String none = text(client.chat().completions().create(ask(null, ASK)
      .toolChoice(ChatCompletionToolChoiceOption.Auto.NONE).build()));
    assertThat(none).contains("/tool get_weather");
    // required: the model calls a tool though the message asks for none
    ChatCompletion required = client.chat().completions().create(ask(null, "What should I wear today?")
      .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build());
    ChatCompletionMessageFunctionToolCall any = onlyCall(required);
    assertThat(any.function().name()).isEqualTo("get_weather");
    assertThat(any.function().arguments()).isEqualTo("{}");
    // a named function: that one, though the message asks for another
    ChatCompletion named = client.chat().completions().create(ask(null, ASK).addTool(tool("get_time"))
      .toolChoice(ChatCompletionNamedToolChoice.builder()
        .function(ChatCompletionNamedToolChoice.Function.builder().name("get_time").build()).build()).build());
    assertThat(onlyCall(named).function().name()).isEqualTo("get_time");
    // auto (and no choice): the model decides, here from the message
    assertThat(text(client.chat().completions().create(ask(null, "What should I wear today?")
      .toolChoice(ChatCompletionToolChoiceOption.Auto.AUTO).build()))).contains("What should I wear today?");
  }

  private static JsonObject refused(JsonObject body, String param) throws Exception {
    HttpResponse<String> r = TestHub.post(node.url() + "/v1/chat/completions",
      body.copy().put("model", "support").encode());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
    JsonObject error = new JsonObject(r.body()).getJsonObject("error");
    assertThat(error.getString("param")).as(r.body()).isEqualTo(param);
    assertThat(error.getString("type")).isEqualTo("invalid_request_error");
    return error;
  }

  private static JsonObject rawTool(Consumer<JsonObject> change) {
    JsonObject fn = new JsonObject().put("name", "get_weather").put("parameters", new JsonObject().put("type", "object"));
    JsonObject tool = new JsonObject().put("type", "function").put("function", fn);
    change.accept(tool);
    return tool;
  }

  private static JsonArray hi() {
    return new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"));
  }

  @Test
  void badToolsAreRefusedByNameAsOpenAiDoes() throws Exception {
    assertThat(refused(new JsonObject().put("messages", hi()).put("tools", new JsonArray().add(rawTool(t ->
      t.getJsonObject("function").put("name", "get weather!")))), "tools[0].function.name").getString("code"))
      .isEqualTo("invalid_value");
    assertThat(refused(new JsonObject().put("messages", hi()).put("tools", new JsonArray().add(rawTool(t ->
      t.getJsonObject("function").put("name", "x".repeat(65))))), "tools[0].function.name").getString("code"))
      .isEqualTo("string_above_max_length");
    assertThat(refused(new JsonObject().put("messages", hi()).put("tools", new JsonArray().add(rawTool(t -> { }))
      .add(rawTool(t -> t.getJsonObject("function").put("name", "get_time").put("parameters", "none")))),
      "tools[1].function.parameters")
      .getString("code")).isEqualTo("invalid_type");
    refused(new JsonObject().put("messages", hi()).put("tools", new JsonArray().add(rawTool(t -> t.put("type", "retrieval")))),
      "tools[0].type");
    refused(new JsonObject().put("messages", hi()).put("tools", new JsonArray().add(rawTool(t -> t.remove("function")))),
      "tools[0].function");
    refused(new JsonObject().put("messages", hi()).put("tools", "get_weather"), "tools");
    // tool_choice: a function not among the tools, required without tools, a value OpenAI does not know
    refused(new JsonObject().put("messages", hi()).put("tools", new JsonArray().add(rawTool(t -> { })))
      .put("tool_choice", new JsonObject().put("type", "function").put("function", new JsonObject().put("name", "nope"))),
      "tool_choice");
    refused(new JsonObject().put("messages", hi()).put("tool_choice", "required"), "tool_choice");
    refused(new JsonObject().put("messages", hi()).put("tools", new JsonArray().add(rawTool(t -> { })))
      .put("tool_choice", "always"), "tool_choice");
    // a name the agent's own tool has on the wire (time.now is time__now there)
    assertThat(refused(new JsonObject().put("messages", hi()).put("tools", new JsonArray().add(rawTool(t ->
      t.getJsonObject("function").put("name", "time__now")))), "tools[0].function.name").getString("message"))
      .contains("taken by one of the agent's own tools");
  }

  @Test
  void aResultForACallNobodyMadeIsRefused() throws Exception {
    JsonObject step = new JsonObject().put("role", "assistant").putNull("content").put("tool_calls", new JsonArray()
      .add(new JsonObject().put("id", "call_1").put("type", "function").put("function", new JsonObject()
        .put("name", "get_weather").put("arguments", "{\"city\":\"Paris\"}"))));
    JsonArray tools = new JsonArray().add(rawTool(t -> { }));
    // stateless: the conversation must pair every result with a call, as at OpenAI
    JsonArray unknown = new JsonArray().add(new JsonObject().put("role", "user").put("content", ASK)).add(step)
      .add(new JsonObject().put("role", "tool").put("tool_call_id", "call_2").put("content", WEATHER));
    refused(new JsonObject().put("messages", unknown).put("tools", tools), "messages[2].tool_call_id");
    JsonArray unanswered = new JsonArray().add(new JsonObject().put("role", "user").put("content", ASK)).add(step)
      .add(new JsonObject().put("role", "user").put("content", "and?"));
    refused(new JsonObject().put("messages", unanswered).put("tools", tools), "messages[2].role");
    // in a session: the results must answer the calls the session waits for
    ChatCompletion called = client.chat().completions().create(ask("ct-unknown", ASK).build());
    onlyCall(called);
    JsonArray wrong = new JsonArray().add(new JsonObject().put("role", "tool").put("tool_call_id", "call_nobody_made")
      .put("content", WEATHER));
    JsonObject error = refused(new JsonObject().put("user", "ct-unknown").put("messages", wrong).put("tools", tools),
      "messages");
    assertThat(error.getString("message")).contains("call_nobody_made");
    // and with no call waiting at all
    refused(new JsonObject().put("user", "ct-nothing-waits").put("messages", wrong).put("tools", tools), "messages");
  }
}

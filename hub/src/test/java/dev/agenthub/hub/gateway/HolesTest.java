package dev.agenthub.hub.gateway;

import dev.agenthub.config.ConfigException;
import dev.agenthub.config.ConfigLoader;
import dev.agenthub.config.Secrets;
import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.protocol.Hashes;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The reproductions of the review that found holes, each answered with the right client error. */
class HolesTest {

  @Test
  void aFileWhereAFolderIsIs409AndTheNodeStartsAgain() throws Exception {
    Path memory = Fixtures.freshDir();
    String yaml = HubYaml.yaml("holes1", 0, HubYaml.memoryYaml(memory));
    HubNode node = TestHub.start(yaml);
    try {
      String note = new JsonObject().put("author", "probe").put("text", "x").encode();
      assertThat(TestHub.post(node.url() + "/v1/memory/shared/p.md/q.md", note).statusCode()).isEqualTo(200);
      HttpResponse<String> clash = TestHub.post(node.url() + "/v1/memory/shared/p.md", note);
      assertThat(clash.statusCode()).as(clash.body()).isEqualTo(409);
      assertThat(new JsonObject(clash.body()).getJsonObject("error").getString("type")).isEqualTo("conflict");
      HttpResponse<String> through = TestHub.post(node.url() + "/v1/memory/shared/p.md/q.md/r.md", note);
      assertThat(through.statusCode()).as(through.body()).isEqualTo(409);
      // an agent inside its own folder: the same clash through its skill is refused, not journaled
      TestHub.post(node.url() + "/v1/agents/support/messages", new JsonObject().put("session", "clash")
        .put("text", "/tool memory.append {\"path\":\"agents/support/x.md/y.md\",\"text\":\"a\"}").encode());
      HttpResponse<String> skill = TestHub.post(node.url() + "/v1/agents/support/messages", new JsonObject()
        .put("session", "clash").put("text", "/tool memory.append {\"path\":\"agents/support/x.md\",\"text\":\"b\"}")
        .encode());
      assertThat(skill.statusCode()).isEqualTo(200);
    } finally {
      node.close().await(1, TimeUnit.MINUTES);
    }
    // the journal holds nothing that cannot be applied: the node starts again on the same directory
    HubNode again = TestHub.start(yaml);
    try {
      assertThat(TestHub.get(again.url() + "/v1/memory/shared/p.md/q.md").body()).contains("x");
      assertThat(TestHub.get(again.url() + "/health/ready").statusCode()).isEqualTo(200);
    } finally {
      again.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void aClusterNeedsASecretOfItsOwn() throws Exception {
    var config = ConfigLoader.parse(HubYaml.yaml("holes2", 0, """
      cluster: { enabled: true, name: prod, host: 10.1.2.3, port: 5701, members: ["10.1.2.3:5701"] }
      """));
    // computed from the cluster's name, a secret would be anyone's: the node refuses to start
    assertThatThrownBy(() -> Secrets.clusterSecret(config, Map.of())).isInstanceOf(ConfigException.class)
      .hasMessageContaining("AGENTHUB_CLUSTER_SECRET");
    assertThatThrownBy(() -> Secrets.clusterSecret(config, Map.of("AGENTHUB_CLUSTER_SECRET", "short")))
      .isInstanceOf(ConfigException.class).hasMessageContaining("at least 16");
    assertThat(Secrets.clusterSecret(config, Map.of("AGENTHUB_CLUSTER_SECRET", "s3cret-value-of-some-length")))
      .isNotEmpty();
    // on loopback too, unless the cluster says it stays on this machine
    var loopback = ConfigLoader.parse(HubYaml.yaml("holes3", 0, HubYaml.clusterYaml("loop", 5701)));
    assertThatThrownBy(() -> Secrets.clusterSecret(loopback, Map.of())).isInstanceOf(ConfigException.class)
      .hasMessageContaining("loopback-only");
    // a loopback-only cluster keeps a random secret per installation, the same at every start
    Path dir = Fixtures.freshDir();
    String yaml = HubYaml.yaml("holes3", 0, "memory: { dir: \"" + dir + "\" }\n"
      + "cluster: { enabled: true, name: loop, loopback-only: true, members: [\"127.0.0.1:5701-5702\"] }\n");
    byte[] first = Secrets.clusterSecret(ConfigLoader.parse(yaml), Map.of());
    assertThat(first).isNotEqualTo(Secrets.clusterSecret(ConfigLoader.parse(yaml.replace(dir.toString(),
      Fixtures.freshDir().toString())), Map.of()));
    assertThat(Secrets.clusterSecret(ConfigLoader.parse(yaml), Map.of())).isEqualTo(first);
    assertThat(new String(first, StandardCharsets.UTF_8)).hasSize(64)
      .isNotEqualTo(new String(Hashes.sha256("agenthub-cluster:loop"), StandardCharsets.UTF_8));
    assertThat(Files.getPosixFilePermissions(dir.resolve(Secrets.LOOPBACK_SECRET_FILE)))
      .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    // and it is loopback-only for real: a member elsewhere is refused at load
    assertThatThrownBy(() -> ConfigLoader.parse(HubYaml.yaml("holes3", 0,
      "cluster: { enabled: true, name: loop, loopback-only: true, members: [\"10.0.0.5:5701\"] }\n")))
      .isInstanceOf(ConfigException.class).hasMessageContaining("cluster.loopback-only");
  }

  @Test
  void aBatchCallbackToThisMachineIsRefusedWhenNoHostIsListed() throws Exception {
    HubNode node = TestHub.start(HubYaml.yaml("holes4", 0, ""));
    try {
      for (String url : new String[]{"http://127.0.0.1:5701/", "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8080/v1/memory/shared/x.md"}) {
        HttpResponse<String> r = TestHub.post(node.url() + "/v1/agents/support/messages", new JsonObject()
          .put("session", "cb").put("text", "hi").put("priority", "batch").put("callback_url", url).encode());
        assertThat(r.statusCode()).as(url).isEqualTo(400);
        assertThat(new JsonObject(r.body()).getJsonObject("error").getString("param")).isEqualTo("callback_url");
      }
    } finally {
      node.close().await(1, TimeUnit.MINUTES);
    }
  }
}

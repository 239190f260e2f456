package dev.agenthub.governor;

import dev.agenthub.governor.ledger.BudgetCounters;

import com.hazelcast.config.ClassFilter;
import com.hazelcast.config.JavaSerializationFilterConfig;
import com.hazelcast.config.SerializationConfig;
import com.hazelcast.nio.serialization.compact.CompactSerializer;

import java.util.ArrayList;
import java.util.List;

/**
 * How what the governor keeps in the cluster crosses between Hazelcast members: the entries of the
 * key buckets ({@code agenthub.key-buckets}) and the budget counters ({@code agenthub.budget-counters})
 * and the entry processors that change them, each in Hazelcast's Compact format under a type name
 * and field names that never change. A Compact record carries its schema, so members of two
 * versions read each other's records in a rolling upgrade (a field added later is read only when
 * {@code getFieldKind} finds it), and no member Java-deserializes what another sends of ours.
 * Every data member registers them ({@link #register}); a lite member (a user's application) needs
 * none: it owns no partition, so it never runs a processor, and an entry it reads comes to it as a
 * {@code GenericRecord}.
 */
public final class GovernorSerializers {

  /** Our classes, which Java deserialization refuses: they cross only as Compact. */
  static final String OUR_CLASSES = "dev.agenthub.";

  private GovernorSerializers() {
  }

  /** The Compact serializers of every governor class sent between members. */
  public static List<CompactSerializer<?>> all() {
    List<CompactSerializer<?>> out = new ArrayList<>(ClusterLimiter.serializers());
    out.addAll(BudgetCounters.serializers());
    return out;
  }

  /**
   * Registers {@link #all()} on a member's serialization, and refuses Java deserialization of any
   * agenthub class. Hazelcast's {@code EntryProcessor} is {@code Serializable}, so a processor
   * without a Compact serializer would otherwise cross by Java serialization unnoticed; refused,
   * it fails at once. (Hazelcast's default list, which would also refuse every class outside
   * {@code java} and {@code com.hazelcast}, stays off: it would also refuse what the applications
   * that join as members put in shared maps, a decision of its own.)
   */
  public static SerializationConfig register(SerializationConfig config) {
    config.getCompactSerializationConfig().setSerializers(all().toArray(CompactSerializer<?>[]::new));
    config.setJavaSerializationFilterConfig(new JavaSerializationFilterConfig().setDefaultsDisabled(true)
      .setBlacklist(new ClassFilter().addPrefixes(OUR_CLASSES)));
    return config;
  }
}

package dev.agenthub.governor.ledger;

import com.hazelcast.nio.serialization.compact.CompactReader;
import com.hazelcast.nio.serialization.compact.CompactSerializer;
import com.hazelcast.nio.serialization.compact.CompactWriter;

import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Compact serializers written as two lambdas: what the governor's classes in the cluster (the key
 * buckets, the budget counters and their entry processors) are read from and written as. Here, in
 * the lowest package that needs it, so the ledger does not import the governor above it.
 */
public final class Compact {

  private Compact() {
  }

  /** A Compact serializer of {@code type} under the stable name {@code typeName}. */
  public static <T> CompactSerializer<T> of(String typeName, Class<T> type, Function<CompactReader, T> read,
                                                 BiConsumer<CompactWriter, T> write) {
    return new CompactSerializer<>() {
      @Override
      public T read(CompactReader reader) {
        return read.apply(reader);
      }

      @Override
      public void write(CompactWriter writer, T object) {
        write.accept(writer, object);
      }

      @Override
      public String getTypeName() {
        return typeName;
      }

      @Override
      public Class<T> getCompactClass() {
        return type;
      }
    };
  }
}

package dev.agenthub.governor;

import dev.agenthub.protocol.Priority;

import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.ToIntFunction;

/**
 * Calls waiting for a key, served by priority (interactive, then heartbeat, then batch) and, within
 * a priority, round-robin between agents, each agent served up to its weight in a row, so a flood
 * from one agent cannot starve another. Lives on the governor's context.
 */
final class FairQueue<T> {

  private final ToIntFunction<String> weights;
  private String current;
  private int servedInRow;

  private static final int PRIORITIES = 3;
  @SuppressWarnings("unchecked")
  private final LinkedHashMap<String, ArrayDeque<T>>[] byAgent = new LinkedHashMap[PRIORITIES];
  private int size;

  FairQueue() {
    this(agent -> 1);
  }

  FairQueue(ToIntFunction<String> weights) {
    this.weights = weights;
    for (int i = 0; i < PRIORITIES; i++) {
      byAgent[i] = new LinkedHashMap<>();
    }
  }

  static int priority(Priority priority) {
    return priority == null ? 0 : priority.ordinal();
  }

  void add(String agent, Priority priority, T item) {
    byAgent[priority(priority)].computeIfAbsent(agent, a -> new ArrayDeque<>()).addLast(item);
    size++;
  }

  /** The next item to serve, without removing it; null if empty. */
  T peek() {
    for (LinkedHashMap<String, ArrayDeque<T>> level : byAgent) {
      if (!level.isEmpty()) {
        return level.values().iterator().next().peekFirst();
      }
    }
    return null;
  }

  /** Removes the item {@link #peek()} returned and moves its agent to the back of the line. */
  T poll() {
    for (LinkedHashMap<String, ArrayDeque<T>> level : byAgent) {
      if (!level.isEmpty()) {
        Map.Entry<String, ArrayDeque<T>> first = level.entrySet().iterator().next();
        String agent = first.getKey();
        ArrayDeque<T> queue = first.getValue();
        T item = queue.pollFirst();
        servedInRow = agent.equals(current) ? servedInRow + 1 : 1;
        current = agent;
        if (queue.isEmpty()) {
          level.remove(agent);
        } else if (servedInRow >= Math.max(1, weights.applyAsInt(agent))) {
          // its turn is over: to the back of the line
          level.remove(agent);
          level.put(agent, queue);
          servedInRow = 0;
        }
        size--;
        return item;
      }
    }
    return null;
  }

  int size() {
    return size;
  }
}

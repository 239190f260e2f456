package dev.agenthub.agents;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Per-session FIFO mailboxes of one agent instance: one turn at a time per session, in arrival
 * order; many sessions at once, up to {@code maxConcurrent} turns in flight; at most
 * {@code maxQueue} turns waiting. Not thread-safe: it lives on its verticle's context.
 */
final class SessionMailboxes {

  /** Raised when {@code maxQueue} turns are already waiting. */
  static final class QueueFullException extends RuntimeException {
    QueueFullException(int maxQueue) {
      super("queue full (" + maxQueue + " turns waiting)", null, false, false);
    }
  }

  /** A turn, with the context it arrived on (its trace, when tracing is on, lives there). */
  private record Pending<T>(Supplier<Future<T>> work, Promise<T> promise, Context origin) {
  }

  private final int maxConcurrent;
  private final int maxQueue;
  // a session is present while it has a running or waiting turn; the head of its deque is running
  private final Map<String, ArrayDeque<Pending<?>>> sessions = new HashMap<>();
  // sessions whose head turn may start as soon as a slot frees up
  private final ArrayDeque<String> ready = new ArrayDeque<>();
  private int running;
  private int waiting;
  // running + waiting, for a gauge on another thread
  private volatile int depth;

  SessionMailboxes(int maxConcurrent, int maxQueue) {
    this.maxConcurrent = maxConcurrent;
    this.maxQueue = maxQueue;
  }

  <T> Future<T> submit(String session, Supplier<Future<T>> work) {
    if (waiting >= maxQueue) {
      return Future.failedFuture(new QueueFullException(maxQueue));
    }
    Promise<T> promise = Promise.promise();
    ArrayDeque<Pending<?>> queue = sessions.computeIfAbsent(session, s -> new ArrayDeque<>());
    boolean idle = queue.isEmpty();
    queue.addLast(new Pending<>(work, promise, Vertx.currentContext()));
    waiting++;
    depth = running + waiting;
    if (idle) {
      ready.addLast(session);
      drain();
    }
    return promise.future();
  }

  int running() {
    return running;
  }

  int waiting() {
    return waiting;
  }

  /** Turns waiting or running; read from any thread (the queue-depth gauge). */
  int depth() {
    return depth;
  }

  int activeSessions() {
    return sessions.size();
  }

  private void drain() {
    while (running < maxConcurrent && !ready.isEmpty()) {
      String session = ready.pollFirst();
      ArrayDeque<Pending<?>> queue = sessions.get(session);
      waiting--;
      running++;
      start(session, queue, queue.peekFirst());
    }
  }

  private <T> void start(String session, ArrayDeque<Pending<?>> queue, Pending<T> head) {
    Context here = Vertx.currentContext();
    if (head.origin() != null && here != null && head.origin() != here) {
      // a turn that waited starts on the context it arrived on, not on that of the turn before it
      head.origin().runOnContext(v -> run(session, queue, head));
    } else {
      run(session, queue, head);
    }
  }

  private <T> void run(String session, ArrayDeque<Pending<?>> queue, Pending<T> head) {
    Future<T> result;
    try {
      result = head.work().get();
    } catch (RuntimeException e) {
      result = Future.failedFuture(e);
    }
    result.onComplete(ar -> {
      running--;
      depth = running + waiting;
      queue.pollFirst();
      if (queue.isEmpty()) {
        sessions.remove(session);
      } else {
        ready.addLast(session);
      }
      head.promise().handle(ar);
      drain();
    });
  }
}

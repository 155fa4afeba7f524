/**
 * Server-side events by topic. Domain code publishes (`job.progress`, `alert`, ...) without knowing who listens;
 * each client connection subscribes to the topics it asked for with `events.subscribe`.
 */
export type Listener = (topic: string, params: unknown) => void;

export class EventBus {
  private readonly listeners = new Map<string, Set<Listener>>();

  publish(topic: string, params: unknown): void {
    const set = this.listeners.get(topic);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(topic, params);
      } catch {
        // One broken listener must not stop the others from hearing the event.
      }
    }
  }

  /** Returns the function that removes this subscription. */
  subscribe(topic: string, listener: Listener): () => void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(topic);
    };
  }

  listenerCount(topic: string): number {
    return this.listeners.get(topic)?.size ?? 0;
  }
}

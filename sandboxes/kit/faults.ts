// Injected failures ("fail next"): a sandbox queues faults in its own shape (a status, and whatever its app's
// error body needs) and answers its next requests with them, in order, each as many times as asked, so a test
// sees exactly one 429 or 503 without racing a clock.

export class FaultQueue<F> {
  private queue: { fault: F; left: number }[] = [];

  /** The next `times` requests get this fault, after the faults queued before it; `times` below 1 adds none. */
  add(fault: F, times = 1): void {
    if (times > 0) this.queue.push({ fault, left: times });
  }

  /** The fault the current request gets, if any is queued; it counts as used. */
  take(): F | undefined {
    const head = this.queue[0];
    if (!head) return undefined;
    if (--head.left <= 0) this.queue.shift();
    return head.fault;
  }

  clear(): void {
    this.queue = [];
  }
}

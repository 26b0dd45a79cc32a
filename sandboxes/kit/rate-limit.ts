import type { Response } from 'express';

// The counting behind every sandbox's rate limits. Each app keeps its own limits, headers and 429 bodies (from
// its vendor's documentation) and counts with these: a rolling window ("100 per rolling 10 seconds": the
// Sandbox app, Google, HubSpot, Pipeliner), a fixed window that starts over (Pipedrive's 2-second burst and
// daily budget, HubSpot's daily count), and requests in flight at once (Outlook's per-mailbox concurrency).

/** Requests admitted within the last `windowMs`, kept as their times in the order they came. */
export class RollingWindow {
  private times: number[] = [];
  private head = 0;

  constructor(readonly windowMs: number) {}

  /** Admits the request when fewer than `max` lie in the window: null, else the whole seconds (at least 1) until the oldest leaves it. */
  take(max: number, now = Date.now()): number | null {
    this.expire(now);
    if (this.times.length - this.head < max) {
      this.times.push(now);
      return null;
    }
    return Math.max(1, Math.ceil((this.times[this.head] + this.windowMs - now) / 1000));
  }

  /** Requests admitted within the window now. */
  used(now = Date.now()): number {
    this.expire(now);
    return this.times.length - this.head;
  }

  clear(): void {
    this.times = [];
    this.head = 0;
  }

  private expire(now: number): void {
    while (this.head < this.times.length && now - this.times[this.head] >= this.windowMs) this.head++;
    // The benchmark admits hundreds of thousands of requests: drop the expired front now and then, not each time.
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * An amount used since the window started: a window of `windowMs` starts with its first use after the previous
 * one ended, a 'utc-day' window at UTC midnight. An endless one (Infinity) never starts over.
 */
export class FixedWindow {
  private start = -Infinity;
  private spent = 0;

  constructor(private readonly length: number | 'utc-day') {}

  used(now = Date.now()): number {
    this.roll(now);
    return this.spent;
  }

  add(amount: number, now = Date.now()): void {
    this.roll(now);
    this.spent += amount;
  }

  /** Whole seconds (at least 1) until the window starts over. */
  resetsIn(now = Date.now()): number {
    this.roll(now);
    return Math.max(1, Math.ceil((this.start + this.windowMs() - now) / 1000));
  }

  private windowMs(): number {
    return this.length === 'utc-day' ? 86_400_000 : this.length;
  }

  private roll(now: number): void {
    const start = this.length === 'utc-day' ? now - (now % 86_400_000) : now;
    if (this.length === 'utc-day' ? start !== this.start : now - this.start >= this.length) {
      this.start = start;
      this.spent = 0;
    }
  }
}

/** Requests being served at once, per key (a mailbox, an account). */
export class InFlight {
  private counts = new Map<string, number>();

  /** Counts the request in until `res` closes, unless `max` are in flight already (then false, and it is not counted). */
  enter(key: string, max: number, res: Response): boolean {
    const now = (this.counts.get(key) ?? 0) + 1;
    if (now > max) return false;
    this.counts.set(key, now);
    res.once('close', () => this.counts.set(key, (this.counts.get(key) ?? 1) - 1));
    return true;
  }

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}

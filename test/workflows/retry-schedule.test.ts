import { describe, expect, it } from 'vitest';
import { HUBSPOT_RETRY_SCHEDULE, nextRetryDelay, type RetrySchedule } from '../../workflows/retry-schedule';

// "Failed contacts retry themselves, as HubSpot's own sync does": every 20 minutes ten times, then every
// night at midnight UTC.

const MINUTE = 60_000;
const at = (iso: string) => Date.parse(iso);

describe('the automatic retry schedule of a failure case', () => {
  it('waits 20 minutes after each of the first ten failed attempts', () => {
    const now = at('2026-12-02T17:03:00.000Z');
    for (let retries = 0; retries < 10; retries++) {
      expect(nextRetryDelay(HUBSPOT_RETRY_SCHEDULE, retries, now)).toBe(20 * MINUTE);
    }
  });

  it('then retries at the next midnight UTC, whatever the time of day', () => {
    expect(nextRetryDelay(HUBSPOT_RETRY_SCHEDULE, 10, at('2026-12-02T17:00:00.000Z'))).toBe(7 * 60 * MINUTE);
    expect(nextRetryDelay(HUBSPOT_RETRY_SCHEDULE, 25, at('2026-12-02T23:59:59.000Z'))).toBe(1000);
    // Exactly at midnight (the nightly retry itself just failed): the next night, not now.
    expect(nextRetryDelay(HUBSPOT_RETRY_SCHEDULE, 11, at('2026-12-03T00:00:00.000Z'))).toBe(24 * 60 * MINUTE);
    const wake = at('2026-12-02T08:15:00.000Z') + nextRetryDelay(HUBSPOT_RETRY_SCHEDULE, 10, at('2026-12-02T08:15:00.000Z'));
    expect(new Date(wake).toISOString()).toBe('2026-12-03T00:00:00.000Z');
  });

  it('takes every time as a parameter, so tests run it in milliseconds', () => {
    const short: RetrySchedule = { everyMs: 50, frequentRetries: 2, nightlyPeriodMs: 1000, nightlyAtMs: 300 };
    expect(nextRetryDelay(short, 0, 10_000)).toBe(50);
    expect(nextRetryDelay(short, 1, 10_000)).toBe(50);
    // Then at 300 ms into each 1 s period: 10.3 s, then 11.3 s.
    expect(nextRetryDelay(short, 2, 10_000)).toBe(300);
    expect(nextRetryDelay(short, 3, 10_300)).toBe(1000);
    expect(nextRetryDelay(short, 3, 10_299)).toBe(1);
    expect(nextRetryDelay(short, 9, 10_900)).toBe(400);
  });

  it('never asks for a wait of zero or less, nor longer than a period', () => {
    const short: RetrySchedule = { everyMs: 5, frequentRetries: 0, nightlyPeriodMs: 700, nightlyAtMs: 123 };
    for (let now = 0; now < 3000; now += 7) {
      const delay = nextRetryDelay(short, 0, now);
      expect(delay).toBeGreaterThan(0);
      expect(delay).toBeLessThanOrEqual(700);
      expect((now + delay - 123) % 700).toBe(0);
    }
  });
});

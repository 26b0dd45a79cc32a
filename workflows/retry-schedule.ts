// When a failure case tries its contact again by itself. HubSpot's own sync retries a record that errored
// "every 20 minutes up to ten times", then puts it in a "timeout queue" retried "every night at midnight
// GMT" (https://knowledge.hubspot.com/articles/kcs_article/salesforce/why-are-my-errored-syncs-not-automatically-retrying).
// Pure, so the workflow and its tests share it; every time is a parameter, so tests use milliseconds.

export interface RetrySchedule {
  /** the wait after each failed attempt, for the first `frequentRetries` automatic retries */
  everyMs: number;
  frequentRetries: number;
  /** then once a period, at `nightlyAtMs` into it (UTC): a day and 0 is every night at midnight UTC */
  nightlyPeriodMs: number;
  nightlyAtMs: number;
}

const DAY_MS = 24 * 60 * 60_000;

export const HUBSPOT_RETRY_SCHEDULE: RetrySchedule = {
  everyMs: 20 * 60_000,
  frequentRetries: 10,
  nightlyPeriodMs: DAY_MS,
  nightlyAtMs: 0,
};

/**
 * How long after `nowMs` the next automatic retry is due, when `automaticRetries` have been made since the
 * case opened (or since a person or a settings change last retried it).
 */
export function nextRetryDelay(schedule: RetrySchedule, automaticRetries: number, nowMs: number): number {
  if (automaticRetries < schedule.frequentRetries) return schedule.everyMs;
  const { nightlyPeriodMs: period, nightlyAtMs: at } = schedule;
  const next = Math.floor((nowMs - at) / period) * period + at + period;
  return next - nowMs;
}

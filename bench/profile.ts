import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface StepFigure {
  activity: string;
  count: number;
  totalMs: number;
  meanMs: number;
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : 0;

/**
 * Where a connection's time went, from its own histories (every run): per activity type, how many ran and
 * how long each took from scheduled to completed. The rest of the wall time is orchestration.
 */
export async function activityProfile(client: Client, workflowId: string): Promise<StepFigure[]> {
  const scheduled = new Map<string, { type: string; at: number }>();
  const byType = new Map<string, { count: number; totalMs: number }>();
  for await (const item of client.workflow.list({ query: `WorkflowId = "${workflowId}"` }).intoHistories()) {
    scheduled.clear();
    for (const e of (item.history as { events?: HistoryEvent[] } | undefined)?.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), { type: s.activityType?.name ?? '?', at: ms(e.eventTime) });
      const done = e.activityTaskCompletedEventAttributes;
      if (done) {
        const start = scheduled.get(String(done.scheduledEventId));
        if (!start) continue;
        const fig = byType.get(start.type) ?? { count: 0, totalMs: 0 };
        fig.count++;
        fig.totalMs += ms(e.eventTime) - start.at;
        byType.set(start.type, fig);
      }
    }
  }
  return [...byType.entries()]
    .map(([activity, f]) => ({ activity, count: f.count, totalMs: Math.round(f.totalMs), meanMs: Math.round(f.totalMs / f.count) }))
    .sort((x, y) => y.totalMs - x.totalMs);
}

import { useEffect, useRef } from 'react';
import type { Activity } from '../api';
import { ACTIVITY_KINDS, Chart, KIND_COLOURS } from '../charts';
import { count, hourLabel } from '../format';

type Side = 'a' | 'b';

const KIND_LABEL = { created: 'Created', updated: 'Updated', deleted: 'Deleted', failed: 'Failed', conflicts: 'Conflicts' } as const;

/** One side's hours as a stacked bar chart of the five kinds. */
function SideChart({ activity, side, title, max }: { activity: Activity; side: Side; title: string; max: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        maintainAspectRatio: false,
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 12, boxHeight: 12 } }, title: { display: false } },
        scales: {
          x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 8 } },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
        },
      },
    });
    return () => chart.current?.destroy();
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = activity.hours.map((h) => hourLabel(h.hour));
    c.data.datasets = ACTIVITY_KINDS.map((kind) => ({
      label: KIND_LABEL[kind],
      data: activity.hours.map((h) => h[kind][side]),
      backgroundColor: KIND_COLOURS[kind],
      borderRadius: 2,
      maxBarThickness: 22,
    }));
    if (c.options.scales?.y) c.options.scales.y.suggestedMax = max;
    c.update();
  }, [activity, side, max]);

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div className="chart-canvas">
        <canvas ref={canvas} role="img" aria-label={`${title}, per hour over the last 24 hours`} />
      </div>
    </figure>
  );
}

/** The last 24 hours per hour and per side, with the totals as a table under the charts. */
export function ActivityChart({ activity, names }: { activity: Activity; names: Record<Side, string> }) {
  // Both charts on one scale, so a side that did more looks it.
  const max = Math.max(
    1,
    ...activity.hours.flatMap((h) => (['a', 'b'] as const).map((side) => ACTIVITY_KINDS.reduce((sum, kind) => sum + h[kind][side], 0))),
  );
  return (
    <section className="activity-chart" aria-label="Activity of the last 24 hours">
      <div className="chart-pair">
        <SideChart activity={activity} side="a" title={`Written to A: ${names.a}`} max={max} />
        <SideChart activity={activity} side="b" title={`Written to B: ${names.b}`} max={max} />
      </div>
      <table className="totals" aria-label="Totals of the last 24 hours">
        <thead>
          <tr>
            <th scope="col">Last 24 hours</th>
            {ACTIVITY_KINDS.map((kind) => (
              <th scope="col" key={kind} className="num">
                <span className={`swatch swatch-${kind}`} aria-hidden="true" />
                {KIND_LABEL[kind]}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {(['a', 'b'] as const).map((side) => (
            <tr key={side} data-side={side}>
              <th scope="row">
                {side.toUpperCase()}: {names[side]}
              </th>
              {ACTIVITY_KINDS.map((kind) => (
                <td key={kind} data-kind={kind} className="num">
                  {count(activity.totals[kind][side])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

import { useEffect, useRef } from 'react';
import type { Activity } from '../api';
import { Chart, KIND_COLOURS } from '../charts';
import { hourLabel } from '../format';

/** Writes per hour over the last 24 hours (both sides, every kind), as a small line. */
export function Sparkline({ activity }: { activity: Activity | undefined }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);
  const hours = activity?.hours ?? [];
  const labels = hours.map((h) => hourLabel(h.hour));
  const values = hours.map((h) => h.created.a + h.created.b + h.updated.a + h.updated.b + h.deleted.a + h.deleted.b + h.failed.a + h.failed.b);
  const total = values.reduce((a, b) => a + b, 0);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: 'line',
      data: { labels: [], datasets: [{ data: [], borderColor: KIND_COLOURS.updated, backgroundColor: 'rgba(47, 91, 211, 0.12)', fill: true, borderWidth: 1.5, pointRadius: 0, tension: 0.3 }] },
      options: {
        responsive: false,
        plugins: { legend: { display: false }, tooltip: { enabled: false } },
        scales: { x: { display: false }, y: { display: false, beginAtZero: true } },
        events: [],
      },
    });
    return () => chart.current?.destroy();
  }, []);

  useEffect(() => {
    if (!chart.current) return;
    chart.current.data.labels = labels;
    chart.current.data.datasets[0].data = values;
    chart.current.update();
  });

  return (
    <span className="sparkline" title={`${total} writes in the last 24 hours`}>
      <canvas ref={canvas} width={120} height={28} role="img" aria-label={`${total} writes in the last 24 hours`} />
    </span>
  );
}

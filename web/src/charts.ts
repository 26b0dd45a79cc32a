import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

// Chart.js draws on a canvas (no markup from data, nothing for the CSP to object to); only the parts
// the dashboard uses are registered, so the bundle carries only those.
Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Tooltip, Legend, Filler);
Chart.defaults.font.family = getComputedStyle(document.documentElement).getPropertyValue('--font').trim() || 'system-ui, sans-serif';
Chart.defaults.color = '#4a5568';
Chart.defaults.animation = false;

export { Chart };

/** One colour per kind of activity, the same in every chart and legend. */
export const KIND_COLOURS = {
  created: '#2f9e6b',
  updated: '#2f5bd3',
  deleted: '#8a94a6',
  failed: '#d64545',
  conflicts: '#d9902a',
} as const;
export type ActivityKind = keyof typeof KIND_COLOURS;
export const ACTIVITY_KINDS = Object.keys(KIND_COLOURS) as ActivityKind[];

import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from './contract';

// Scans and writes are long, so they heartbeat: a worker that dies mid-batch is noticed in seconds and
// another worker takes over where the database says the batch stands.
export const io = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', backoffCoefficient: 2 },
});

export const quick = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

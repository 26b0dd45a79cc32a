import { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import type { Db } from '../db/client';
import { TASK_QUEUE } from '../client';
import type { RetrySchedule } from '../workflows/retry-schedule';
import { workflowBundle } from './bundle';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  db: Db;
  masterKey: Buffer;
  logger: Logger;
  /** smaller pages and batches make tests reach mid-scan states */
  pageSize?: number;
  planBatchSize?: number;
  /** a short schedule lets tests watch failure cases retry by themselves */
  failureRetrySchedule?: RetrySchedule;
}

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: createActivities({
      db: opts.db,
      masterKey: opts.masterKey,
      logger: opts.logger,
      pageSize: opts.pageSize,
      planBatchSize: opts.planBatchSize,
      failureRetrySchedule: opts.failureRetrySchedule,
    }),
    shutdownGraceTime: '10 seconds',
  });
}

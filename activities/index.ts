import { applyActivities } from './apply';
import { connectionActivities } from './connection';
import { failureCaseActivities } from './failure-cases';
import type { ActivityDeps } from './context';
import { planActivities } from './plan';
import { scanActivities } from './scan';

export type { ActivityDeps } from './context';

export function createActivities(deps: ActivityDeps) {
  return {
    ...connectionActivities(deps),
    ...scanActivities(deps),
    ...planActivities(deps),
    ...applyActivities(deps),
    ...failureCaseActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

import { applyActivities } from './apply';
import { connectionActivities } from './connection';
import { failureCaseActivities } from './failure-cases';
import type { ActivityDeps } from './context';
import { planActivities } from './plan';
import { scanActivities } from './scan';
import type { Activities } from '../workflows/contract';

export type { ActivityDeps } from './context';

/** The activities of the contract in workflows/contract.ts, over one set of dependencies. */
export function createActivities(deps: ActivityDeps): Activities {
  return {
    ...connectionActivities(deps),
    ...scanActivities(deps),
    ...planActivities(deps),
    ...applyActivities(deps),
    ...failureCaseActivities(deps),
  };
}

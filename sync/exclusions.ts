import { compile } from './compile';
import type { PlanContext } from './plan-types';
import type { Snapshot } from './types';

// Why a contact is kept from the other side, as the planner judges it: recorded with each plan so the
// dashboard can say "excluded by the rules" for every contact without judging 100,000 of them per request.

export type ExcludedBy = 'rules' | 'direction';

export interface Exclusion {
  side: Snapshot['side'];
  id: string;
  /** null: the contact may go to the other side */
  excludedBy: ExcludedBy | null;
}

/** The verdict on each live record, with the same compiled rules the planner uses. */
export function exclusionsOf(context: PlanContext, records: Snapshot[]): Exclusion[] {
  const c = compile(context);
  return records
    .filter((r) => !r.deleted)
    .map((r) => {
      const side = c.side[r.side];
      const excludedBy: ExcludedBy | null = !side.flows ? 'direction' : side.rules(r.fields).pass ? null : 'rules';
      return { side: r.side, id: r.id, excludedBy };
    });
}

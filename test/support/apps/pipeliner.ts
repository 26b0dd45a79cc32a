import { randomBytes } from 'node:crypto';
import { startPipelinerSandbox, type PipelinerSpace } from '../../../sandboxes/pipeliner';
import type { AppHarness, HarnessAccount, PlainContact } from './harness';

// Pipeliner CRM through its sandbox: each account is a space of its own (API token and password are per space),
// scoped to its "Sales" unit, all visible contacts, new contacts owned by the space's sales rep.

export async function startPipelinerHarness(): Promise<AppHarness> {
  const sandbox = await startPipelinerSandbox();
  const spaceOf = (account: HarnessAccount): PipelinerSpace => sandbox.space(String(account.side.scope.spaceId));
  const text = (v: string | null | undefined) => (v === undefined || v === null || v === '' ? null : v);
  return {
    app: 'pipeliner',
    async account(name) {
      const spaceId = `nv1_${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      const credentials = { apiToken: `${name}-token`, apiPassword: randomBytes(12).toString('hex') };
      const space = sandbox.addSpace(spaceId, credentials);
      const unit = space.addSalesUnit('Sales');
      const rep = space.addUser({ email: `rep@${name.toLowerCase()}.pipeliner.test`, first_name: 'Sales', last_name: 'Rep', default_unit_id: unit.id });
      return {
        side: {
          app: 'pipeliner',
          credentials,
          scope: { serviceUrl: sandbox.url, spaceId, salesUnit: 'Sales', ownership: 'all-visible', user: rep.email },
        },
      };
    },
    async createContact(account, p) {
      const space = spaceOf(account);
      const unit = [...space.units.values()].find((u) => u.name === 'Sales')!;
      const rep = [...space.clients.values()].find((c) => c.default_unit_id === unit.id)!;
      return space.create(
        { first_name: p.firstName, last_name: p.lastName, email1: p.email, quick_account_name: p.company ?? null, position: p.jobTitle ?? null },
        { owner_id: rep.id, unit_id: unit.id },
      ).id;
    },
    async updateContact(account, id, change) {
      spaceOf(account).update(id, {
        ...(change.firstName !== undefined ? { first_name: change.firstName } : {}),
        ...(change.lastName !== undefined ? { last_name: change.lastName } : {}),
        ...(change.company !== undefined ? { quick_account_name: change.company } : {}),
        ...(change.jobTitle !== undefined ? { position: change.jobTitle } : {}),
      });
    },
    async listContacts(account): Promise<PlainContact[]> {
      return spaceOf(account)
        .all()
        .map((c) => ({
          id: c.id,
          firstName: text(c.values.first_name),
          lastName: text(c.values.last_name),
          emails: ['email1', 'email2', 'email3', 'email4', 'email5'].flatMap((k) => (c.values[k] ? [c.values[k]!.toLowerCase()] : [])),
          company: text(c.values.quick_account_name),
          jobTitle: text(c.values.position),
        }));
    },
    close: () => sandbox.close(),
  };
}

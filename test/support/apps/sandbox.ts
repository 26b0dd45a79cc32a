import { startSandbox } from '../../../sandboxes/sandbox';
import type { AppHarness, HarnessAccount, PlainContact } from './harness';

export async function startSandboxHarness(): Promise<AppHarness> {
  const sandbox = await startSandbox();
  const instanceOf = (account: HarnessAccount) => sandbox.instance(String(account.side.scope.instance));
  return {
    app: 'sandbox',
    async account(name) {
      const token = `${name}-token-${Math.random().toString(36).slice(2)}`;
      sandbox.addInstance(name, { token });
      return { side: { app: 'sandbox', credentials: { apiToken: token }, scope: { baseUrl: sandbox.url, instance: name } } };
    },
    async createContact(account, p) {
      return instanceOf(account).create({
        first_name: p.firstName,
        last_name: p.lastName,
        company: p.company ?? null,
        job_title: p.jobTitle ?? null,
        emails: [{ type: 'work', value: p.email }],
      }).id;
    },
    async updateContact(account, id, change) {
      instanceOf(account).update(id, {
        ...(change.firstName !== undefined ? { first_name: change.firstName } : {}),
        ...(change.lastName !== undefined ? { last_name: change.lastName } : {}),
        ...(change.company !== undefined ? { company: change.company } : {}),
        ...(change.jobTitle !== undefined ? { job_title: change.jobTitle } : {}),
      });
    },
    async listContacts(account): Promise<PlainContact[]> {
      return instanceOf(account)
        .all()
        .map((c) => ({
          id: c.id,
          firstName: c.first_name,
          lastName: c.last_name,
          emails: c.emails.map((e) => e.value.toLowerCase()),
          company: c.company,
          jobTitle: c.job_title,
        }));
    },
    close: () => sandbox.close(),
  };
}

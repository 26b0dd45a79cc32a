import { startPipedriveSandbox, type Company } from '../../../sandboxes/pipedrive';
import type { AppHarness, HarnessAccount, PlainContact } from './harness';

// Pipedrive through its sandbox: each account is a company of its own, reached with its admin's API token,
// syncing every person the user can see. Job title is one of Pipedrive's contact-sync fields, which its API
// does not write: a job title from another app does not arrive here (it does travel the other way).

export async function startPipedriveHarness(): Promise<AppHarness> {
  const sandbox = await startPipedriveSandbox();
  const companies = new Map<string, string>();
  let counter = 0;
  const companyOf = (account: HarnessAccount): Company => sandbox.company(companies.get(account.side.credentials.apiToken)!);
  return {
    app: 'pipedrive',
    async account(name) {
      const company = `${name.replace(/[^A-Za-z0-9 -]/g, '')}-${++counter}`;
      const created = sandbox.addCompany(company, { adminEmail: `admin@${company.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.pipedrive.test` });
      companies.set(created.apiToken, company);
      return { side: { app: 'pipedrive', credentials: { apiToken: created.apiToken }, scope: { baseUrl: sandbox.url } } };
    },
    async createContact(account, p) {
      return String(
        companyOf(account).createAs({
          first_name: p.firstName,
          last_name: p.lastName,
          emails: [{ value: p.email, label: 'work', primary: true }],
          org_name: p.company ?? null,
          job_title: p.jobTitle ?? null,
        }).id,
      );
    },
    async updateContact(account, id, change) {
      companyOf(account).editAs(Number(id), {
        ...(change.firstName !== undefined ? { first_name: change.firstName } : {}),
        ...(change.lastName !== undefined ? { last_name: change.lastName } : {}),
        ...(change.company !== undefined ? { org_name: change.company } : {}),
        ...(change.jobTitle !== undefined ? { job_title: change.jobTitle } : {}),
      });
    },
    async listContacts(account): Promise<PlainContact[]> {
      const company = companyOf(account);
      return company.all().map((p) => ({
        id: String(p.id),
        firstName: p.first_name,
        lastName: p.last_name,
        emails: p.emails.map((e) => e.value.toLowerCase()),
        company: p.org_id ? (company.organization(p.org_id)?.name ?? null) : null,
        jobTitle: p.job_title,
      }));
    },
    close: () => sandbox.close(),
  };
}

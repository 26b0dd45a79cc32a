import { startHubSpotSandbox } from '../../../sandboxes/hubspot';
import type { AppHarness, HarnessAccount, PlainContact } from './harness';

// The HubSpot sandbox behind the AppHarness interface: one portal per account, reached with its private-app
// token, tags in the portal's "contact_tags" multiple-checkboxes property. Limits are raised above HubSpot's
// so that cross-app tests that poll do not spend their time waiting out 429s.

export async function startHubSpotHarness(): Promise<AppHarness> {
  const sandbox = await startHubSpotSandbox();
  const portalOf = (account: HarnessAccount) => sandbox.account(String(account.side.scope.portal));
  return {
    app: 'hubspot',
    async account(name) {
      const portal = sandbox.addAccount(name, { limits: { tenSecondly: 5_000, searchPerSecond: 200 } });
      return {
        side: {
          app: 'hubspot',
          credentials: { accessToken: portal.privateAppToken },
          // `portal` is not HubSpot's: the harness keeps it to find the account again; the connector ignores it.
          scope: { baseUrl: sandbox.url, tagsFrom: { property: 'contact_tags' }, portal: name },
        },
      };
    },
    async createContact(account, p) {
      const [made] = portalOf(account).create([
        { email: p.email, firstname: p.firstName, lastname: p.lastName, company: p.company ?? null, jobtitle: p.jobTitle ?? null },
      ]);
      return made.id;
    },
    async updateContact(account, id, change) {
      portalOf(account).edit(id, {
        ...(change.firstName !== undefined ? { firstname: change.firstName } : {}),
        ...(change.lastName !== undefined ? { lastname: change.lastName } : {}),
        ...(change.company !== undefined ? { company: change.company } : {}),
        ...(change.jobTitle !== undefined ? { jobtitle: change.jobTitle } : {}),
      });
    },
    async listContacts(account): Promise<PlainContact[]> {
      return portalOf(account)
        .list()
        .map((c) => ({
          id: c.id,
          firstName: c.properties.firstname ?? null,
          lastName: c.properties.lastname ?? null,
          emails: [c.properties.email, ...(c.properties.hs_additional_emails ?? '').split(';')]
            .filter((e): e is string => Boolean(e))
            .map((e) => e.toLowerCase()),
          company: c.properties.company ?? null,
          jobTitle: c.properties.jobtitle ?? null,
        }));
    },
    close: () => sandbox.close(),
  };
}

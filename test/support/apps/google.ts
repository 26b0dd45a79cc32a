import { startGoogleSandbox, type GoogleAccount } from '../../../sandboxes/google';
import type { AppHarness, HarnessAccount, PlainContact } from './harness';

/** Google Contacts through its sandbox: each account is one Google user who authorized Rapport. */
export async function startGoogleHarness(): Promise<AppHarness> {
  const sandbox = await startGoogleSandbox();
  // Which sandbox user a side's refresh token belongs to: the side itself carries only what Rapport stores.
  const users = new Map<string, string>();
  const accountOf = (account: HarnessAccount): GoogleAccount => {
    const user = users.get(account.side.credentials.refreshToken);
    if (!user) throw new Error('not an account of this Google harness');
    return sandbox.account(user);
  };
  return {
    app: 'google',
    async account(name) {
      const user = `${name}-${Math.random().toString(36).slice(2, 8)}`;
      const { clientId, clientSecret, refreshToken } = sandbox.credentials(user);
      users.set(refreshToken, user);
      return { side: { app: 'google', credentials: { clientId, clientSecret, refreshToken }, scope: { baseUrl: sandbox.url, tokenUrl: sandbox.tokenUrl } } };
    },
    async createContact(account, p) {
      return `people/${
        accountOf(account).addPerson({
          names: [{ givenName: p.firstName, familyName: p.lastName }],
          emailAddresses: [{ value: p.email, type: 'work' }],
          ...(p.company || p.jobTitle ? { organizations: [{ name: p.company, title: p.jobTitle }] } : {}),
        }).id
      }`;
    },
    async updateContact(account, id, change) {
      const store = accountOf(account);
      const current = store.find(id);
      if (!current) throw new Error(`no Google contact ${id}`);
      const name = { ...current.data.names?.[0] };
      if (change.firstName !== undefined) name.givenName = change.firstName;
      if (change.lastName !== undefined) name.familyName = change.lastName;
      const org = { ...current.data.organizations?.[0] };
      if (change.company !== undefined) org.name = change.company;
      if (change.jobTitle !== undefined) org.title = change.jobTitle;
      store.editPerson(id, {
        names: [name],
        organizations: [org, ...(current.data.organizations ?? []).slice(1)],
      });
    },
    async listContacts(account): Promise<PlainContact[]> {
      return accountOf(account)
        .people()
        .map((p) => ({
          id: `people/${p.id}`,
          firstName: (p.data.names?.[0]?.givenName as string | undefined) ?? null,
          lastName: (p.data.names?.[0]?.familyName as string | undefined) ?? null,
          emails: (p.data.emailAddresses ?? []).map((e) => String(e.value).toLowerCase()),
          company: (p.data.organizations?.[0]?.name as string | undefined) ?? null,
          jobTitle: (p.data.organizations?.[0]?.title as string | undefined) ?? null,
        }));
    },
    close: () => sandbox.close(),
  };
}

import { startGraphSandbox } from '../../../sandboxes/outlook';
import type { AppHarness, HarnessAccount, PlainContact } from './harness';

// Microsoft 365 / Outlook through the Graph sandbox: each account is a mailbox of its own, synced through a
// contacts folder made for it (the scope users pick most: "a folder for Rapport").

export async function startOutlookHarness(): Promise<AppHarness> {
  const sandbox = await startGraphSandbox();
  // The token names the mailbox, so the scope does not: each account's folder id leads back to its mailbox.
  const mailboxOfFolder = new Map<string, string>();
  const where = (account: HarnessAccount) => {
    const folderId = (account.side.scope.folder as { id: string }).id;
    return { mailbox: sandbox.mailbox(mailboxOfFolder.get(folderId)!), folderId };
  };
  return {
    app: 'outlook',
    async account(name) {
      const mailbox = sandbox.mailbox(name);
      const folder = mailbox.createFolder(`Rapport ${name}`);
      mailboxOfFolder.set(folder.id, name);
      const tokens = sandbox.grant(name);
      return {
        side: {
          app: 'outlook',
          credentials: {
            clientId: sandbox.client.clientId,
            clientSecret: sandbox.client.clientSecret,
            refreshToken: tokens.refreshToken,
            accessToken: tokens.accessToken,
            expiresAt: new Date(tokens.expiresAt).toISOString(),
          },
          scope: { baseUrl: sandbox.graphUrl, tokenUrl: sandbox.tokenUrl, folder: { id: folder.id } },
        },
      };
    },
    async createContact(account, p) {
      const { mailbox, folderId } = where(account);
      return mailbox.create(
        {
          givenName: p.firstName,
          surname: p.lastName,
          companyName: p.company ?? null,
          jobTitle: p.jobTitle ?? null,
          emailAddresses: [{ name: `${p.firstName} ${p.lastName}`, address: p.email }],
        },
        folderId,
      ).id;
    },
    async updateContact(account, id, change) {
      where(account).mailbox.update(id, {
        ...(change.firstName !== undefined ? { givenName: change.firstName } : {}),
        ...(change.lastName !== undefined ? { surname: change.lastName } : {}),
        ...(change.company !== undefined ? { companyName: change.company } : {}),
        ...(change.jobTitle !== undefined ? { jobTitle: change.jobTitle } : {}),
      });
    },
    async listContacts(account): Promise<PlainContact[]> {
      const { mailbox, folderId } = where(account);
      return mailbox.all(folderId).map((c) => ({
        id: c.id,
        firstName: c.givenName,
        lastName: c.surname,
        emails: c.emailAddresses.flatMap((e) => (e.address ? [e.address.toLowerCase()] : [])),
        company: c.companyName,
        jobTitle: c.jobTitle,
      }));
    },
    close: () => sandbox.close(),
  };
}

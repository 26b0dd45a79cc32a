import { randomUUID } from 'node:crypto';
import { CardDavClient } from '../../../connectors/carddav/client';
import { applyFields, cardFields, newCard, parseCard, printCard } from '../../../connectors/carddav/vcard';
import { startRadicale, type Radicale } from '../../../sandboxes/carddav/radicale';
import type { AppHarness, HarnessAccount, PlainContact } from './harness';

// CardDAV through a real Radicale: every account is a fresh address book (extended MKCOL) of one user, so the
// cross-app tests meet discovery by href, sync-collection and ETags as a real server serves them. Acting as a
// user, the harness PUTs and edits vCards directly, as an address book app would.

const USER = 'rapport';
const PASSWORD = 'rapport-app-password';

export interface CardDavHarness extends AppHarness {
  radicale: Radicale;
}

export async function startCardDavHarness(): Promise<CardDavHarness> {
  const radicale = await startRadicale();
  radicale.addUser(USER, PASSWORD);
  const client = new CardDavClient(USER, PASSWORD);
  const bookOf = (account: HarnessAccount) => new URL(String(account.side.scope.addressBook), radicale.url).href;

  async function cards(account: HarnessAccount) {
    const book = bookOf(account);
    const listing = await client.propfind(book, { 'd:getetag': {} }, '1');
    const hrefs = listing.map((r) => String(r.href ?? '')).filter((h) => h && !h.endsWith('/'));
    return hrefs.length ? (await client.multiget(book, hrefs)).filter((m) => m.status === 200 && m.data) : [];
  }

  return {
    app: 'carddav',
    radicale,
    async account(name) {
      const slug = `${name.replace(/[^A-Za-z0-9_-]/g, '-')}-${randomUUID().slice(0, 8)}`;
      const url = await radicale.makeAddressBook(USER, PASSWORD, slug, name);
      return {
        side: {
          app: 'carddav',
          credentials: { username: USER, password: PASSWORD },
          scope: { serverUrl: radicale.url, addressBook: new URL(url).pathname },
        },
      };
    },
    async createContact(account, p) {
      const uid = randomUUID();
      const card = newCard(uid, {
        'N.given': p.firstName,
        'N.surname': p.lastName,
        'EMAIL.1': p.email,
        'ORG.name': p.company ?? null,
        TITLE: p.jobTitle ?? null,
      });
      const url = new URL(`${uid}.vcf`, bookOf(account));
      const res = await client.request(url.href, {
        method: 'PUT',
        headers: { 'if-none-match': '*', 'content-type': 'text/vcard; charset=utf-8' },
        body: printCard(card),
      });
      if (res.status !== 201 && res.status !== 204) throw new Error(`PUT ${url.pathname}: ${res.status} ${res.text}`);
      return url.pathname;
    },
    async updateContact(account, id, change) {
      const url = new URL(id, bookOf(account)).href;
      const current = await client.request(url, { method: 'GET' });
      if (current.status !== 200) throw new Error(`GET ${id}: ${current.status}`);
      const comp = parseCard(current.text);
      applyFields(comp, {
        ...(change.firstName !== undefined ? { 'N.given': change.firstName } : {}),
        ...(change.lastName !== undefined ? { 'N.surname': change.lastName } : {}),
        ...(change.company !== undefined ? { 'ORG.name': change.company } : {}),
        ...(change.jobTitle !== undefined ? { TITLE: change.jobTitle } : {}),
      });
      const etag = current.headers.get('etag');
      const res = await client.request(url, {
        method: 'PUT',
        headers: { ...(etag ? { 'if-match': etag } : {}), 'content-type': 'text/vcard; charset=utf-8' },
        body: printCard(comp),
      });
      if (res.status !== 201 && res.status !== 204) throw new Error(`PUT ${id}: ${res.status} ${res.text}`);
    },
    async listContacts(account): Promise<PlainContact[]> {
      return (await cards(account)).map((m) => {
        const f = cardFields(parseCard(m.data!));
        const str = (v: unknown) => (typeof v === 'string' ? v : null);
        return {
          id: m.href,
          firstName: str(f['N.given']),
          lastName: str(f['N.surname']),
          emails: ['EMAIL.1', 'EMAIL.2', 'EMAIL.3'].map((k) => str(f[k])?.toLowerCase()).filter((e): e is string => Boolean(e)),
          company: str(f['ORG.name']),
          jobTitle: str(f.TITLE),
        };
      });
    },
    close: () => radicale.stop(),
  };
}

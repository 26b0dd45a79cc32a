import { serviceDiscovery, type DAVResponse } from 'tsdav';
import { ConfigError } from '../errors';
import { sameResource, text, type CardDavClient } from './client';

// From what a user types (a server URL, maybe an address book's name or path) to the address book's URL:
// RFC 6764 well-known redirect, current-user-principal, addressbook-home-set, then the home's address books
// (RFC 6352 7.1). A server URL that already is an address book is used as it is.

export interface AddressBook {
  url: string;
  displayName: string | null;
}

const PROPS = {
  'd:resourcetype': {},
  'd:displayname': {},
  'd:current-user-principal': {},
  'card:addressbook-home-set': {},
};

const isBook = (r: DAVResponse | undefined) => Boolean(r?.props?.resourcetype && 'addressbook' in r.props.resourcetype);
const hrefOf = (value: unknown): string | null => text((value as { href?: unknown } | undefined)?.href ?? null);
const abs = (href: string, base: string) => new URL(href, base.endsWith('/') ? base : `${base}/`).href;
const bookOf = (r: DAVResponse, base: string): AddressBook => ({ url: abs(text(r.href) ?? '', base), displayName: text(r.props?.displayname) });

/** Answer for the resource itself, not a member (a Depth 0 PROPFIND may still list several). */
async function self(client: CardDavClient, url: string): Promise<DAVResponse | undefined> {
  const responses = await client.propfind(url, PROPS, '0');
  const first = responses[0];
  const multistatus = typeof first?.raw === 'object' && first.raw !== null && 'multistatus' in first.raw;
  if (first && !multistatus) {
    if (first.status === 404) return undefined;
    throw new ConfigError(`the CardDAV server answered ${first.status} to PROPFIND ${new URL(url).pathname}`, first.status);
  }
  return responses.find((r) => r.href && sameResource(text(r.href)!, url)) ?? responses[0];
}

export async function listAddressBooks(client: CardDavClient, serverUrl: string): Promise<AddressBook[]> {
  let root = await self(client, serverUrl);
  let base = serverUrl;
  if (isBook(root)) return [bookOf(root!, serverUrl)];
  let principal = hrefOf(root?.props?.currentUserPrincipal);
  if (!principal && !root?.props?.addressbookHomeSet) {
    // No principal at the given URL: RFC 6764's /.well-known/carddav says where the service lives.
    base = await serviceDiscovery({ account: { serverUrl, accountType: 'carddav' }, fetch: client.send });
    root = await self(client, base);
    principal = hrefOf(root?.props?.currentUserPrincipal);
  }
  let home = hrefOf(root?.props?.addressbookHomeSet);
  if (!home && principal) {
    const p = await self(client, abs(principal, base));
    home = hrefOf(p?.props?.addressbookHomeSet);
  }
  if (!home) throw new ConfigError(`no CardDAV address book home found at ${new URL(serverUrl).origin}${new URL(serverUrl).pathname}`);
  const homeUrl = abs(home, base);
  const members = await client.propfind(homeUrl, PROPS, '1');
  return members.filter((r) => r.href && isBook(r)).map((r) => bookOf(r, homeUrl));
}

/** The scope's address book: an href or URL, a display name, or (none given) the first the server lists. */
export async function resolveAddressBook(client: CardDavClient, serverUrl: string, wanted?: string): Promise<AddressBook> {
  if (wanted && (wanted.startsWith('/') || /^https?:\/\//i.test(wanted))) {
    const url = abs(wanted, serverUrl);
    const r = await self(client, url);
    if (!isBook(r)) throw new ConfigError(`${new URL(url).pathname} is not a CardDAV address book`, r ? 200 : 404);
    return bookOf(r!, url);
  }
  const books = await listAddressBooks(client, serverUrl);
  if (books.length === 0) throw new ConfigError('the CardDAV account has no address book');
  if (!wanted) return books[0];
  const lower = wanted.trim().toLowerCase();
  const found = books.find(
    (b) => b.displayName?.trim().toLowerCase() === lower || decodeURIComponent(new URL(b.url).pathname).replace(/\/+$/, '').split('/').pop()?.toLowerCase() === lower,
  );
  if (!found) {
    const names = books.map((b) => b.displayName ?? new URL(b.url).pathname).join(', ');
    throw new ConfigError(`no address book named "${wanted}"; the account has: ${names}`);
  }
  return found;
}

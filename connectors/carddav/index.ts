import { z } from 'zod';
import { parseAccount, requestTimeoutOf } from '../kit/account';
import type { Account, AppDefinition } from '../types';
import { CardDavClient } from './client';
import { CardDavConnector, carddavCapabilities } from './connector';
import { carddavFields } from './vcard';
import { httpUrl } from '../kit/url';

// Any CardDAV server (iCloud, Fastmail, Nextcloud, Radicale...) with Basic auth: iCloud and Fastmail want an
// app-specific password. Scope is the server's URL plus, optionally, which address book (an href or URL, or its
// display name); without one, the first address book the server lists.

export const carddavCredentialsSchema = z.object({
  username: z.string().min(1, 'username is required'),
  password: z.string().min(1, 'password is required (iCloud and Fastmail: an app-specific password)'),
});

export const carddavScopeSchema = z.object({
  serverUrl: httpUrl('serverUrl', 'https://contacts.icloud.com'),
  addressBook: z.string().trim().min(1).optional(),
});

export const carddavApp: AppDefinition = {
  id: 'carddav',
  name: 'CardDAV (iCloud, Fastmail, Nextcloud, Radicale…)',
  capabilities: carddavCapabilities,
  credentials: carddavCredentialsSchema,
  scope: carddavScopeSchema,
  fields: carddavFields,
  connect(account: Account) {
    const { credentials, scope } = parseAccount(account, { app: 'CardDAV', credentials: carddavCredentialsSchema, scope: carddavScopeSchema });
    const client = new CardDavClient(credentials.username, credentials.password, requestTimeoutOf(account));
    const { serverUrl, addressBook } = scope;
    return new CardDavConnector(client, {
      serverUrl,
      addressBook,
      cacheKey: JSON.stringify([serverUrl, credentials.username, addressBook ?? null]),
      createVersion: account.options?.vcardVersion === '4.0' ? '4.0' : '3.0',
    });
  },
};

export { CardDavConnector, carddavCapabilities } from './connector';
export { carddavFields } from './vcard';

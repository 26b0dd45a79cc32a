import { z } from 'zod';
import { ConfigError, TransientError } from '../errors';
import { parseAccount, requestTimeoutOf } from '../kit/account';
import { oauthCredentialsSchema, sessionOf, type OAuth2Session, type OAuthCredentials } from '../oauth2';
import type { Account, AppDefinition } from '../types';
import { HubSpotClient, type HubSpotAuth } from './client';
import { HubSpotConnector, hubspotCapabilities } from './connector';
import { HubSpotLists } from './lists';
import { hubspotStandardFields } from './fields';
import { httpUrl } from '../kit/url';

// HubSpot CRM contacts (API v3). Credentials are a private app's access token, or an OAuth app's client and
// refresh token (the access token, 30 minutes long, is renewed and stored as it expires). The scope picks the
// API host (the sandbox in tests and the demo), where tags live, and whose contacts sync.

export const DEFAULT_HUBSPOT_URL = 'https://api.hubapi.com';

const privateAppCredentials = z.object({ accessToken: z.string().min(1, 'accessToken (a private app token) is required') });

export const hubspotCredentialsSchema = z.union([oauthCredentialsSchema, privateAppCredentials]) as unknown as z.ZodType<Record<string, string>>;

export const hubspotScopeSchema = z.object({
  baseUrl: httpUrl('baseUrl', 'https://api.hubapi.com').default(DEFAULT_HUBSPOT_URL),
  tagsFrom: z
    .union([
      z.object({ property: z.string().min(1) }).strict(),
      z
        .object({
          lists: z.union([z.literal('all'), z.array(z.string().trim().min(1)).min(1)]),
        })
        .strict(),
    ])
    .optional()
    .describe(
      'where tags live: a multiple-checkboxes contact property ({ property: name }), or contact lists ({ lists: "all" | [names] }): ' +
        "a contact's tags are the names of its lists; new tags create static (MANUAL) lists; dynamic lists are read, never written",
    ),
  owner: z.enum(['mine', 'all']).default('all').describe('"mine": only contacts owned by the user who authorized the app'),
});

export const hubspotApp: AppDefinition = {
  id: 'hubspot',
  name: 'HubSpot',
  capabilities: hubspotCapabilities,
  credentials: hubspotCredentialsSchema,
  scope: hubspotScopeSchema,
  fields: hubspotStandardFields,
  connect(account: Account) {
    const { credentials, scope } = parseAccount(account, { app: 'HubSpot', credentials: hubspotCredentialsSchema, scope: hubspotScopeSchema });
    const { tagsFrom, owner, baseUrl } = scope;
    let auth: HubSpotAuth;
    let session: OAuth2Session | null = null;
    if ('refreshToken' in credentials && credentials.refreshToken) {
      session = sessionOf(account, credentials as OAuthCredentials, `${baseUrl.replace(/\/+$/, '')}/oauth/v1/token`);
      auth = { kind: 'oauth', session };
    } else {
      auth = { kind: 'token', token: credentials.accessToken };
    }
    const client = new HubSpotClient(baseUrl, auth, requestTimeoutOf(account));

    /** The user behind OAuth credentials, from HubSpot's token-info endpoint; private-app tokens have none. */
    const whoAmI = async (): Promise<string | null> => {
      if (!session) return null;
      const token = await session.accessToken();
      // Called directly, not through the client: the token is part of the path, and client messages quote paths.
      let user: unknown;
      try {
        const res = await fetch(`${baseUrl.replace(/\/+$/, '')}/oauth/v1/access-tokens/${encodeURIComponent(token)}`, { signal: AbortSignal.timeout(30_000) });
        user = res.ok ? ((await res.json()) as { user?: unknown }).user : undefined;
      } catch {
        throw new TransientError('HubSpot GET /oauth/v1/access-tokens failed: network error');
      }
      if (typeof user !== 'string') throw new ConfigError('HubSpot did not tell which user authorized the app');
      return user;
    };
    const lists =
      tagsFrom && 'lists' in tagsFrom
        ? new HubSpotLists(
            client,
            tagsFrom.lists,
            // The index cache is per account and scope; the key is a hash, so no credential is kept in it.
            HubSpotLists.cacheKeyOf(baseUrl, 'refreshToken' in credentials ? credentials.refreshToken : credentials.accessToken, tagsFrom.lists),
          )
        : null;
    return new HubSpotConnector(client, { baseUrl, owner, tagsFrom }, whoAmI, lists);
  },
};

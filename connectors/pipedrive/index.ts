import { z } from 'zod';
import { parseAccount } from '../kit/account';
import { sessionOf } from '../oauth2';
import type { Account, AppDefinition } from '../types';
import { PipedriveClient, type PipedriveAuth } from './client';
import { PipedriveConnector, VISIBLE_TO, pipedriveCapabilities } from './connector';
import { pipedriveFields } from './fields';
import { httpUrl } from '../kit/url';

// Pipedrive persons. Credentials are a personal API token or an OAuth app's refresh token; scope is the
// company (its domain, or a base URL such as the local sandbox's) and whether to sync the user's own persons
// or every person the user can see.

const PIPEDRIVE_TOKEN_URL = 'https://oauth.pipedrive.com/oauth/token';
const CREDENTIAL_FORMS = 'Pipedrive credentials are either { apiToken } or { clientId, clientSecret, refreshToken, accessToken?, expiresAt? }';

const apiTokenSchema = z.strictObject({ apiToken: z.string().min(1, 'apiToken must not be empty') });
const oauthSchema = z.strictObject({
  clientId: z.string().min(1, 'clientId must not be empty'),
  clientSecret: z.string().min(1, 'clientSecret must not be empty'),
  refreshToken: z.string().min(1, 'refreshToken must not be empty'),
  accessToken: z.string().min(1).optional(),
  /** ISO time the access token expires, as stored after a refresh */
  expiresAt: z.string().optional(),
});

const credentialForms = z.union([apiTokenSchema, oauthSchema], { error: CREDENTIAL_FORMS });
export const pipedriveCredentialsSchema = credentialForms as unknown as z.ZodType<Record<string, string>>;

export const pipedriveScopeSchema = z
  .strictObject({
    companyDomain: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/i, 'companyDomain is the name before .pipedrive.com, e.g. "acme" for acme.pipedrive.com')
      .optional(),
    baseUrl: httpUrl('baseUrl', 'http://127.0.0.1:4020').optional(),
    ownership: z.enum(['own', 'all'], { error: 'ownership is "own" (persons the user owns) or "all" (every person the user can see)' }).optional(),
  })
  .refine((s) => Boolean(s.companyDomain) !== Boolean(s.baseUrl), 'give exactly one of companyDomain or baseUrl');

export const pipedriveOptionsSchema = z
  .object({
    visibleTo: z.enum(VISIBLE_TO, { error: `visibleTo is one of ${VISIBLE_TO.join(', ')}` }).optional(),
    requestTimeoutMs: z.number().positive().optional(),
  })
  .loose();

export const pipedriveApp: AppDefinition = {
  id: 'pipedrive',
  name: 'Pipedrive',
  capabilities: pipedriveCapabilities,
  credentials: pipedriveCredentialsSchema,
  scope: pipedriveScopeSchema as unknown as z.ZodType<Record<string, unknown>>,
  fields: pipedriveFields,
  connect(account: Account) {
    // The scope first: the token URL of OAuth credentials depends on it.
    const { scope, options, credentials } = parseAccount(account, {
      app: 'Pipedrive',
      scope: pipedriveScopeSchema,
      options: pipedriveOptionsSchema,
      credentials: credentialForms,
      // A root-level refinement (companyDomain or baseUrl) has no path; the credentials' two forms are told whole.
      tell: { scope: { issues: 'all', paths: true, root: 'scope' }, credentials: { sentence: CREDENTIAL_FORMS } },
    });
    const root = scope.baseUrl ?? `https://${scope.companyDomain}.pipedrive.com`;

    let auth: PipedriveAuth;
    if ('apiToken' in credentials) {
      auth = { kind: 'token', apiToken: credentials.apiToken };
    } else {
      // Pipedrive's token endpoint requires the client in an Authorization: Basic header
      // (https://pipedrive.readme.io/docs/marketplace-oauth-authorization).
      const tokenUrl = scope.baseUrl ? `${root.replace(/\/+$/, '')}/oauth/token` : PIPEDRIVE_TOKEN_URL;
      const session = sessionOf(account, credentials, tokenUrl, { authMethod: 'client_secret_basic' });
      auth = { kind: 'oauth', session };
    }
    const client = new PipedriveClient(root, auth, options.requestTimeoutMs);
    return new PipedriveConnector(client, { ownership: scope.ownership ?? 'all', visibleTo: options.visibleTo });
  },
};

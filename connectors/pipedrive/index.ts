import { z } from 'zod';
import { ConfigError } from '../errors';
import { OAuth2Session } from '../oauth2';
import type { Account, AppDefinition } from '../types';
import { PipedriveClient, type PipedriveAuth } from './client';
import { PipedriveConnector, VISIBLE_TO, pipedriveCapabilities } from './connector';
import { pipedriveFields } from './fields';

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

export const pipedriveCredentialsSchema = z.union([apiTokenSchema, oauthSchema], { error: CREDENTIAL_FORMS }) as unknown as z.ZodType<
  Record<string, string>
>;

export const pipedriveScopeSchema = z
  .strictObject({
    companyDomain: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/i, 'companyDomain is the name before .pipedrive.com, e.g. "acme" for acme.pipedrive.com')
      .optional(),
    baseUrl: z
      .url({ protocol: /^https?$/, error: 'baseUrl must be an http(s) URL, e.g. http://127.0.0.1:4020' })
      .refine((u) => !new URL(u).username && !new URL(u).password, 'baseUrl must not contain a user name or password')
      .optional(),
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
    const scope = pipedriveScopeSchema.safeParse(account.scope);
    if (!scope.success) {
      throw new ConfigError(`Pipedrive scope: ${scope.error.issues.map((i) => `${i.path.join('.') || 'scope'}: ${i.message}`).join('; ')}`);
    }
    const options = pipedriveOptionsSchema.safeParse(account.options ?? {});
    if (!options.success) {
      throw new ConfigError(`Pipedrive options: ${options.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const root = scope.data.baseUrl ?? `https://${scope.data.companyDomain}.pipedrive.com`;

    // Only our own message: zod's default text could quote a rejected (secret) value.
    let auth: PipedriveAuth;
    const token = apiTokenSchema.safeParse(account.credentials);
    const oauth = oauthSchema.safeParse(account.credentials);
    if (token.success) {
      auth = { kind: 'token', apiToken: token.data.apiToken };
    } else if (oauth.success) {
      const c = oauth.data;
      const session = new OAuth2Session(
        { clientId: c.clientId, clientSecret: c.clientSecret, tokenUrl: scope.data.baseUrl ? `${root.replace(/\/+$/, '')}/oauth/token` : PIPEDRIVE_TOKEN_URL },
        { accessToken: c.accessToken, refreshToken: c.refreshToken, expiresAt: c.expiresAt },
        async (renewed) => {
          const changed: Record<string, string> = { accessToken: renewed.accessToken };
          if (renewed.refreshToken) changed.refreshToken = renewed.refreshToken;
          if (renewed.expiresAt) changed.expiresAt = renewed.expiresAt;
          await account.saveCredentials?.(changed);
        },
      );
      auth = { kind: 'oauth', session };
    } else {
      throw new ConfigError(CREDENTIAL_FORMS);
    }
    const client = new PipedriveClient(root, auth, options.data.requestTimeoutMs);
    return new PipedriveConnector(client, { ownership: scope.data.ownership ?? 'all', visibleTo: options.data.visibleTo });
  },
};

import { z } from 'zod';
import { parseAccount, requestTimeoutOf } from '../kit/account';
import { oauthCredentialsSchema, sessionOf } from '../oauth2';
import type { Account, AppDefinition } from '../types';
import { GraphClient } from './client';
import { OutlookConnector, outlookCapabilities, type FolderScope } from './connector';
import { outlookFields } from './fields';
import { httpUrl } from '../kit/url';

// Microsoft 365 / Outlook.com / Exchange Online contacts through Microsoft Graph, with delegated OAuth2
// (Contacts.ReadWrite, offline_access). The scope names the contacts folder; the tenant goes into the token URL.

export const DEFAULT_GRAPH_URL = 'https://graph.microsoft.com/v1.0';
export const tokenUrlFor = (tenant: string): string => `https://login.microsoftonline.com/${encodeURIComponent(tenant)}/oauth2/v2.0/token`;

/**
 * Sent with every refresh: the Microsoft identity platform expects the scopes again
 * (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token).
 */
export const REFRESH_SCOPE = 'Contacts.ReadWrite offline_access';

export const outlookCredentialsSchema = oauthCredentialsSchema;

export const outlookScopeSchema = z.object({
  baseUrl: httpUrl('baseUrl').optional(),
  tokenUrl: httpUrl('tokenUrl').optional(),
  /** Azure AD tenant (id or domain, or "common", "organizations", "consumers"); ignored when tokenUrl is given. */
  tenant: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,128}$/, 'tenant is a tenant id, a domain, "common", "organizations" or "consumers"')
    .optional(),
  folder: z
    .union([
      z.object({ id: z.string().min(1, 'folder.id is required') }).strict(),
      z.object({ name: z.string().trim().min(1, 'folder.name is required').max(255), create: z.literal(true) }).strict(),
    ])
    .optional(),
});

export type OutlookScope = z.infer<typeof outlookScopeSchema>;

export const outlookApp: AppDefinition = {
  id: 'outlook',
  name: 'Microsoft 365 / Outlook',
  capabilities: outlookCapabilities,
  credentials: outlookCredentialsSchema as unknown as z.ZodType<Record<string, string>>,
  scope: outlookScopeSchema,
  fields: outlookFields,
  connect(account: Account) {
    const { credentials, scope } = parseAccount(account, { app: 'Outlook', credentials: outlookCredentialsSchema, scope: outlookScopeSchema });
    const session = sessionOf(account, credentials, scope.tokenUrl ?? tokenUrlFor(scope.tenant ?? 'common'), { refreshScope: REFRESH_SCOPE });
    const client = new GraphClient(scope.baseUrl ?? DEFAULT_GRAPH_URL, session, requestTimeoutOf(account));
    const folder: FolderScope = scope.folder ?? null;
    return new OutlookConnector(client, folder);
  },
};

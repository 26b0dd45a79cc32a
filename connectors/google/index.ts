import { z } from 'zod';
import { parseAccount } from '../kit/account';
import { oauthCredentialsSchema, sessionOf } from '../oauth2';
import type { Account, AppDefinition } from '../types';
import { GoogleClient } from './client';
import { GoogleConnector, googleCapabilities } from './connector';
import { googleFields } from './fields';
import { httpUrl } from '../kit/url';

// Google Contacts (People API v1), with OAuth2 credentials of an app the user authorized with the contacts scope.
// Scope is where the API lives (the sandbox's URL in tests and the demo) and, optionally, one contact group.

export const googleCredentialsSchema = oauthCredentialsSchema;

export const googleScopeSchema = z.object({
  baseUrl: httpUrl('baseUrl', 'https://people.googleapis.com').optional(),
  tokenUrl: httpUrl('tokenUrl', 'https://oauth2.googleapis.com/token').optional(),
  contactGroup: z
    .string()
    .trim()
    .min(1, 'contactGroup is the resource name (contactGroups/…) or the name of a contact group')
    .max(500)
    .optional(),
});

export const googleOptionsSchema = z.object({
  alsoAddToMyContacts: z.boolean().default(true),
  requestTimeoutMs: z.number().int().positive().optional(),
});

export const googleApp: AppDefinition = {
  id: 'google',
  name: 'Google Contacts',
  capabilities: googleCapabilities,
  credentials: googleCredentialsSchema,
  scope: googleScopeSchema,
  fields: googleFields,
  connect(account: Account) {
    const { credentials, scope, options } = parseAccount(account, {
      app: 'Google',
      credentials: googleCredentialsSchema,
      scope: googleScopeSchema,
      options: googleOptionsSchema,
      // With the path: a value of the wrong type gets zod's own message, which names no field.
      tell: { credentials: { issues: 'first', paths: true } },
    });
    const session = sessionOf(account, credentials, scope.tokenUrl ?? 'https://oauth2.googleapis.com/token');
    const client = new GoogleClient(session, scope.baseUrl ?? 'https://people.googleapis.com', options.requestTimeoutMs);
    return new GoogleConnector(client, { contactGroup: scope.contactGroup }, { alsoAddToMyContacts: options.alsoAddToMyContacts });
  },
};

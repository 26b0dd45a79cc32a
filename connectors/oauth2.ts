import { z } from 'zod';
import { AuthError, TransientError } from './errors';
import type { Account } from './types';

// OAuth2 for the apps that use it (Google, Microsoft Graph, Pipedrive, HubSpot): an access token that
// expires, renewed with the refresh token (RFC 6749 §6). A refresh the server refuses (invalid_grant: revoked
// or expired) is an AuthError, which puts the connection into "needs re-authorization".

export interface OAuthTokens {
  accessToken?: string;
  refreshToken?: string;
  /** ISO time the access token expires */
  expiresAt?: string;
}

/**
 * How the client proves itself to the token endpoint (RFC 6749 §2.3.1; the names are OAuth's registry names):
 * in the form body (`client_secret_post`: Google, Microsoft, HubSpot) or in an `Authorization: Basic` header
 * (`client_secret_basic`: Pipedrive, whose token endpoint requires it).
 */
export type ClientAuthMethod = 'client_secret_post' | 'client_secret_basic';

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  tokenUrl: string;
  /** client_secret_post unless the app requires otherwise. */
  authMethod?: ClientAuthMethod;
  /**
   * Scopes to send with a refresh. RFC 6749 §6 makes `scope` optional, but the Microsoft identity platform
   * expects it on every refresh ("Contacts.ReadWrite offline_access").
   */
  refreshScope?: string;
}

/** What an app adds to the refresh request: its client authentication method and the scope it expects. */
export type RefreshOptions = Pick<OAuthClient, 'authMethod' | 'refreshScope'>;

/** Keeps a refreshed token set: the engine re-encrypts and stores it with the connection. */
export type SaveTokens = (tokens: Required<Pick<OAuthTokens, 'accessToken'>> & OAuthTokens) => Promise<void>;

const EXPIRY_MARGIN_MS = 60_000;

/** The credentials of an OAuth app the user authorized, as an account stores them (Google, Outlook, HubSpot). */
export const oauthCredentialsSchema = z.object({
  clientId: z.string().min(1, 'clientId is required'),
  clientSecret: z.string().min(1, 'clientSecret is required'),
  refreshToken: z.string().min(1, 'refreshToken is required'),
  accessToken: z.string().min(1).optional(),
  /** ISO time the access token expires; kept with renewed tokens. */
  expiresAt: z.string().optional(),
});

export type OAuthCredentials = z.infer<typeof oauthCredentialsSchema>;

/** The session of an account's OAuth credentials: renewed tokens are stored with the account, when it can store. */
export function sessionOf(account: Account, credentials: OAuthCredentials, tokenUrl: string, refresh: RefreshOptions = {}): OAuth2Session {
  const { clientId, clientSecret, refreshToken, accessToken, expiresAt } = credentials;
  return new OAuth2Session({ clientId, clientSecret, tokenUrl, ...refresh }, { accessToken, refreshToken, expiresAt }, async (tokens) => {
    const changed: Record<string, string> = { accessToken: tokens.accessToken };
    if (tokens.refreshToken) changed.refreshToken = tokens.refreshToken;
    if (tokens.expiresAt) changed.expiresAt = tokens.expiresAt;
    await account.saveCredentials?.(changed);
  });
}

export class OAuth2Session {
  private tokens: OAuthTokens;
  private refreshing: Promise<string> | null = null;

  constructor(
    private readonly client: OAuthClient | null,
    tokens: OAuthTokens,
    private readonly save?: SaveTokens,
  ) {
    this.tokens = { ...tokens };
  }

  /** A usable access token, refreshed first when it is missing or about to expire. */
  async accessToken(): Promise<string> {
    const { accessToken, expiresAt } = this.tokens;
    const fresh = accessToken && (!expiresAt || Date.parse(expiresAt) - EXPIRY_MARGIN_MS > Date.now());
    if (fresh) return accessToken;
    return this.refresh();
  }

  /** Renews the access token; concurrent callers share one refresh. */
  refresh(): Promise<string> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /**
   * fetch with the bearer token; a 401 triggers one refresh and one retry, and a second 401 is an AuthError.
   * Callers map every other status themselves.
   */
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const send = async (token: string) =>
      fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
    let res = await send(await this.accessToken());
    if (res.status !== 401 || !this.canRefresh()) {
      if (res.status === 401) throw new AuthError('the app rejected the access token', 401);
      return res;
    }
    res = await send(await this.refresh());
    if (res.status === 401) throw new AuthError('the app rejected the access token after a refresh', 401);
    return res;
  }

  private canRefresh(): boolean {
    return Boolean(this.client && this.tokens.refreshToken);
  }

  private async doRefresh(): Promise<string> {
    if (!this.client || !this.tokens.refreshToken) {
      throw new AuthError('the access token expired and there is no refresh token: authorize the app again');
    }
    const { clientId, clientSecret, authMethod = 'client_secret_post', refreshScope } = this.client;
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: this.tokens.refreshToken });
    if (refreshScope) form.set('scope', refreshScope);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (authMethod === 'client_secret_basic') {
      // RFC 6749 §2.3.1: each part form-encoded before the two are joined and base64-encoded.
      const basic = Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64');
      headers.authorization = `Basic ${basic}`;
    } else {
      form.set('client_id', clientId);
      form.set('client_secret', clientSecret);
    }
    let res: Response;
    try {
      res = await fetch(this.client.tokenUrl, { method: 'POST', headers, body: form });
    } catch (err) {
      throw new TransientError(`token endpoint unreachable: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.status >= 500 || res.status === 429) {
      throw new TransientError(`token endpoint answered ${res.status}`, res.status);
    }
    if (!res.ok || typeof body.access_token !== 'string') {
      // invalid_grant, invalid_client, unauthorized_client: only a person can fix these.
      const code = typeof body.error === 'string' ? body.error : `http_${res.status}`;
      const description = typeof body.error_description === 'string' ? `: ${body.error_description}` : '';
      throw new AuthError(`the app refused to renew the access token (${code}${description})`, res.status, code);
    }
    const expiresIn = Number(body.expires_in ?? 3600);
    this.tokens = {
      accessToken: body.access_token,
      refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : this.tokens.refreshToken,
      expiresAt: new Date(Date.now() + expiresIn * 1000).toISOString(),
    };
    await this.save?.({ ...this.tokens, accessToken: body.access_token });
    return body.access_token;
  }
}

/** application/x-www-form-urlencoded encoding of one value (spaces as +), as RFC 6749 §2.3.1 asks for Basic. */
const formEncode = (value: string): string => new URLSearchParams({ v: value }).toString().slice(2);

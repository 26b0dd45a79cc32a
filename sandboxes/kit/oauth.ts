import { randomBytes } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';

// The OAuth2 side of the app sandboxes (Google, Microsoft Graph, Pipedrive, HubSpot): a token endpoint with
// the refresh_token grant (RFC 6749 §6), access tokens that expire, refresh tokens that can be revoked.
// Error bodies follow RFC 6749 §5.2 ({ error, error_description }), which all of those apps use.

export interface OAuthClientConfig {
  clientId: string;
  clientSecret: string;
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
}

/** How the app's token endpoint wants the client to authenticate (RFC 6749 §2.3.1). */
export type ClientAuthMethod = 'client_secret_post' | 'client_secret_basic';

/** An answer of the token endpoint in the app's own words. */
export interface TokenError {
  status: number;
  body: Record<string, unknown>;
}

export interface TokenEndpointRules {
  /** The one method the endpoint accepts; client_secret_post by default. */
  clientAuth?: ClientAuthMethod;
  /** The answer when the client's credentials are missing from where the method puts them. */
  missingClient?: TokenError;
  /** Scopes a refresh must name (space-separated, any order, a subset of the grant's); none by default. */
  refreshScope?: string[];
  /** The answer to a refresh without `scope`. */
  missingScope?: TokenError;
}

interface AccessGrant {
  account: string;
  expiresAt: number;
}

export class TokenService {
  private access = new Map<string, AccessGrant>();
  private refresh = new Map<string, { account: string; clientId: string }>();
  /** Extra lifetime given to each new access token, in seconds. */
  accessTtlSeconds: number;

  constructor(
    private readonly clients: OAuthClientConfig[],
    options: { accessTtlSeconds?: number; rules?: TokenEndpointRules } = {},
  ) {
    this.accessTtlSeconds = options.accessTtlSeconds ?? 3600;
    this.rules = options.rules ?? {};
  }

  private readonly rules: TokenEndpointRules;

  /** The client's id and secret where the endpoint's method puts them, or null when they are not there. */
  private clientCredentials(req: Request, body: Record<string, string>): { id: string; secret: string } | null {
    if ((this.rules.clientAuth ?? 'client_secret_post') === 'client_secret_post') {
      return body.client_id !== undefined && body.client_secret !== undefined ? { id: body.client_id, secret: body.client_secret } : null;
    }
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '');
    if (!match) return null;
    const decoded = Buffer.from(match[1], 'base64').toString();
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    // RFC 6749 §2.3.1: each part is form-encoded before the two are joined.
    const unform = (v: string) => decodeURIComponent(v.replace(/\+/g, ' '));
    return { id: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
  }

  /** What a user's consent would give the app: a token pair for one account of the sandbox. */
  grant(account: string, clientId = this.clients[0]?.clientId): IssuedTokens {
    if (!clientId || !this.clients.some((c) => c.clientId === clientId)) throw new Error(`unknown client ${clientId}`);
    const refreshToken = `rt-${randomBytes(18).toString('base64url')}`;
    this.refresh.set(refreshToken, { account, clientId });
    return { refreshToken, ...this.newAccess(account) };
  }

  /** Makes every access token of the account (or all) expire now, as time passing would. */
  expireAccessTokens(account?: string): void {
    for (const grant of this.access.values()) if (!account || grant.account === account) grant.expiresAt = 0;
  }

  /** What a user removing the app's access does. */
  revoke(refreshToken: string): void {
    this.refresh.delete(refreshToken);
    for (const [token, grant] of this.access) {
      if (!this.hasRefreshFor(grant.account)) this.access.delete(token);
    }
  }

  /** The account a bearer token belongs to, or why it is refused. */
  verify(token: string | null): { account: string } | { error: 'missing' | 'invalid' | 'expired' } {
    if (!token) return { error: 'missing' };
    const grant = this.access.get(token);
    if (!grant) return { error: 'invalid' };
    if (grant.expiresAt <= Date.now()) return { error: 'expired' };
    return { account: grant.account };
  }

  /** POST handler for the token endpoint (application/x-www-form-urlencoded, as RFC 6749 requires). */
  tokenEndpoint(): express.RequestHandler[] {
    return [
      express.urlencoded({ extended: false }),
      (req: Request, res: Response) => {
        const body = (req.body ?? {}) as Record<string, string>;
        const fail = (status: number, error: string, description: string) =>
          void res.status(status).json({ error, error_description: description });
        const given = this.clientCredentials(req, body);
        if (!given) {
          const missing = this.rules.missingClient ?? { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed.' } };
          return void res.status(missing.status).json(missing.body);
        }
        const client = this.clients.find((c) => c.clientId === given.id);
        if (!client || client.clientSecret !== given.secret) {
          return fail(401, 'invalid_client', 'The OAuth client was not found or its secret is wrong.');
        }
        if (body.grant_type !== 'refresh_token') {
          return fail(400, 'unsupported_grant_type', `grant_type "${body.grant_type ?? ''}" is not supported here.`);
        }
        const wanted = this.rules.refreshScope;
        if (wanted) {
          if (!body.scope) {
            const missing = this.rules.missingScope ?? { status: 400, body: { error: 'invalid_request', error_description: 'scope is required.' } };
            return void res.status(missing.status).json(missing.body);
          }
          const asked = body.scope.split(/\s+/).filter(Boolean);
          const beyond = asked.filter((s) => !wanted.includes(s));
          if (beyond.length) return fail(400, 'invalid_scope', `The scope ${beyond.join(' ')} was not granted.`);
        }
        const known = this.refresh.get(body.refresh_token ?? '');
        if (!known || known.clientId !== client.clientId) {
          return fail(400, 'invalid_grant', 'Token has been expired or revoked.');
        }
        const issued = this.newAccess(known.account);
        res.set('cache-control', 'no-store').json({
          access_token: issued.accessToken,
          token_type: 'Bearer',
          expires_in: Math.max(0, Math.round((issued.expiresAt - Date.now()) / 1000)),
        });
      },
    ];
  }

  /** Bearer check for API routes; `reply` writes the app's own 401 shape. */
  middleware(reply: (res: Response, reason: 'missing' | 'invalid' | 'expired') => void) {
    return (req: Request, res: Response, next: NextFunction): void => {
      const header = req.headers.authorization;
      const match = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
      const verdict = this.verify(match ? match[1].trim() : null);
      if ('error' in verdict) return reply(res, verdict.error);
      res.locals.account = verdict.account;
      next();
    };
  }

  private newAccess(account: string): { accessToken: string; expiresAt: number } {
    const accessToken = `at-${randomBytes(18).toString('base64url')}`;
    const expiresAt = Date.now() + this.accessTtlSeconds * 1000;
    this.access.set(accessToken, { account, expiresAt });
    return { accessToken, expiresAt };
  }

  private hasRefreshFor(account: string): boolean {
    for (const r of this.refresh.values()) if (r.account === account) return true;
    return false;
  }
}

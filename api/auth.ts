import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Db } from '../db/client';
import { authenticateApiKey, type AuthenticatedKey } from '../db/queries/api-keys';
import { findSession, type Session } from '../db/queries/sessions';
import { ApiError } from './errors';

// Two ways in: a bearer API key (scripts, curl) or the dashboard's session cookie. A cookie is sent by the
// browser on its own, so a request riding on it must also prove it comes from the dashboard's page: every
// state-changing one carries the session's CSRF token in a header, which another site cannot read or set.

export const SESSION_COOKIE = 'rapport_session';
export const CSRF_HEADER = 'X-CSRF-Token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface RequestAuth extends AuthenticatedKey {
  /** set when the request came with the session cookie */
  session?: Session;
}

/**
 * The session cookie's value, or undefined. A hand parse of one cookie name: the value is base64url, so
 * none of the Cookie header's quoting or encoding rules apply to it.
 */
export function sessionCookieOf(req: Request): string | undefined {
  const header = req.get('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    return /^[A-Za-z0-9_-]{16,128}$/.test(value) ? value : undefined;
  }
  return undefined;
}

const sameToken = (given: string, expected: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/** Refuses a state-changing request made with the cookie unless it carries the session's CSRF token. */
export function checkCsrf(req: Request, session: Session): void {
  if (SAFE_METHODS.has(req.method)) return;
  const given = req.get(CSRF_HEADER);
  if (!given || !sameToken(given, session.csrfToken)) {
    throw new ApiError(403, 'csrf', `Missing or wrong ${CSRF_HEADER} header: a request signed in with the session cookie must send the csrfToken of POST or GET /session`);
  }
}

/** The session of the request's cookie, or null when there is none or it is no longer valid. */
export async function sessionOf(db: Db, req: Request): Promise<Session | null> {
  const plain = sessionCookieOf(req);
  return plain ? findSession(db, plain) : null;
}

/**
 * Bearer key or session cookie. A request with an Authorization header is judged by it alone, so a script
 * never depends on a cookie jar and a bad key is not rescued by a stale cookie.
 */
export function authenticate(db: Db): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (header === undefined && sessionCookieOf(req) !== undefined) {
      const session = await sessionOf(db, req);
      if (!session) throw new ApiError(401, 'unauthorized', 'The session has ended (signed out, expired or its key revoked): sign in again');
      checkCsrf(req, session);
      res.locals.auth = { keyId: session.keyId, workspaceId: session.workspace.id, session } satisfies RequestAuth;
      return next();
    }
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      throw new ApiError(401, 'unauthorized', 'Missing API key: send "Authorization: Bearer rk_..." (or sign in at POST /session)');
    }
    const auth = await authenticateApiKey(db, match[1]);
    // One message for unknown and revoked keys: the difference would tell a key holder nothing useful.
    if (!auth) throw new ApiError(401, 'unauthorized', 'Invalid or revoked API key');
    res.locals.auth = auth satisfies RequestAuth;
    next();
  };
}

/** The authenticated key of the request; every query of a route is scoped to its workspace. */
export function authOf(res: Response): RequestAuth {
  const auth = res.locals.auth as RequestAuth | undefined;
  if (!auth) throw new ApiError(401, 'unauthorized', 'Missing API key');
  return auth;
}

import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Db } from '../db/client';
import { authenticateApiKey, type AuthenticatedKey } from '../db/queries/api-keys';
import { ApiError } from './errors';

export function bearerAuth(db: Db): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      throw new ApiError(401, 'unauthorized', 'Missing API key: send "Authorization: Bearer rk_..."');
    }
    const auth = await authenticateApiKey(db, match[1]);
    // One message for unknown and revoked keys: the difference would tell a key holder nothing useful.
    if (!auth) throw new ApiError(401, 'unauthorized', 'Invalid or revoked API key');
    res.locals.auth = auth;
    next();
  };
}

/** The authenticated key of the request; every query of a route is scoped to its workspace. */
export function authOf(res: Response): AuthenticatedKey {
  const auth = res.locals.auth as AuthenticatedKey | undefined;
  if (!auth) throw new ApiError(401, 'unauthorized', 'Missing API key');
  return auth;
}

import type { RouteConfig } from '@asteasolutions/zod-to-openapi';
import { Router, type CookieOptions, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Db } from '../db/client';
import { authenticateApiKey } from '../db/queries/api-keys';
import { createSession, deleteSession, type Session } from '../db/queries/sessions';
import { checkCsrf, CSRF_HEADER, SESSION_COOKIE, sessionOf } from './auth';
import { ApiError } from './errors';
import { errorResponseSchema } from './schemas';
import { parseOrThrow } from './validation';

// The dashboard's sign-in: POST /session trades an API key for an HttpOnly, SameSite=Strict cookie, so the
// page never keeps the key (nor anything script-readable that grants access). GET /session tells a reloaded
// page who it is and its CSRF token; DELETE /session signs out on the server, not only in the browser.

export interface SessionRoutesDeps {
  db: Db;
  /** The Temporal UI's base URL for the dashboard's links (TEMPORAL_UI_URL), or null. */
  temporalUiUrl: string | null;
  /** The Temporal namespace the API's client uses (TEMPORAL_NAMESPACE), for the same links. */
  temporalNamespace: string;
}

export const signInSchema = z
  .strictObject({
    apiKey: z.string().min(1).max(200).openapi({ description: 'An API key of the workspace', example: 'rk_...' }),
  })
  .openapi('SignIn');

export const sessionViewSchema = z
  .object({
    workspace: z.object({ id: z.string(), name: z.string() }).openapi({ description: 'The workspace the key belongs to' }),
    csrfToken: z.string().openapi({
      description: `Send it as the ${CSRF_HEADER} header with every POST, PATCH, PUT and DELETE made with the session cookie`,
    }),
    temporalUiUrl: z
      .string()
      .nullable()
      .openapi({ description: "The Temporal UI's base URL, for links to workflows (the API's TEMPORAL_UI_URL), or null" }),
    temporalNamespace: z
      .string()
      .openapi({ description: "The Temporal namespace the connections' workflows run in (the API's TEMPORAL_NAMESPACE)", example: 'default' }),
  })
  .openapi('Session');

function cookieOptions(req: Request): CookieOptions {
  // No Max-Age: the browser forgets the cookie when it closes, and the server ends the session on idle anyway.
  return { httpOnly: true, sameSite: 'strict', path: '/', secure: req.secure };
}

export function sessionRoutes({ db, temporalUiUrl, temporalNamespace }: SessionRoutesDeps): Router {
  const router = Router();
  const view = (session: Session): z.infer<typeof sessionViewSchema> => ({
    workspace: session.workspace,
    csrfToken: session.csrfToken,
    temporalUiUrl,
    temporalNamespace,
  });
  const signedOut = () => new ApiError(401, 'unauthorized', 'Not signed in (or the session has ended): POST /session with an API key');
  const clear = (req: Request, res: Response) => res.clearCookie(SESSION_COOKIE, cookieOptions(req));

  router.post('/session', async (req, res) => {
    // A JSON body only: a cross-site form cannot send one, so no other site can sign a browser in.
    if (!req.is('application/json')) {
      throw new ApiError(415, 'unsupported_media_type', 'Send the API key as JSON: {"apiKey": "rk_..."} with Content-Type: application/json');
    }
    const { apiKey } = parseOrThrow(signInSchema, req.body ?? {});
    const auth = await authenticateApiKey(db, apiKey);
    if (!auth) throw new ApiError(401, 'unauthorized', 'Invalid or revoked API key');
    const { token, session } = await createSession(db, auth);
    res.cookie(SESSION_COOKIE, token, cookieOptions(req));
    res.json(view(session));
  });

  router.get('/session', async (req, res) => {
    const session = await sessionOf(db, req);
    if (!session) throw signedOut();
    res.json(view(session));
  });

  router.delete('/session', async (req, res) => {
    const session = await sessionOf(db, req);
    if (session) {
      checkCsrf(req, session);
      await deleteSession(db, session.id);
    }
    // Signing out of an ended session is not an error: the browser's cookie goes either way.
    clear(req, res);
    res.status(204).end();
  });

  return router;
}

const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });
const error = (description: string) => json(errorResponseSchema, description);
const setCookie = {
  'Set-Cookie': {
    description: `${SESSION_COOKIE}=<opaque>; HttpOnly; SameSite=Strict; Path=/ (and Secure over https)`,
    schema: { type: 'string' as const },
  },
};

export const sessionPaths: RouteConfig[] = [
  {
    method: 'post',
    path: '/session',
    summary: 'Sign in: exchange an API key for a session cookie',
    description:
      `The key is checked and not kept by the browser; the answer sets the ${SESSION_COOKIE} cookie, which every route that takes a bearer key also ` +
      `accepts. With the cookie, POST, PATCH, PUT and DELETE need the ${CSRF_HEADER} header set to \`csrfToken\` (else 403, code \`csrf\`). ` +
      'A session ends after 12 hours without use, 7 days after sign-in, at sign-out, or when its key is revoked.',
    tags: ['session'],
    security: [],
    request: { body: { required: true, content: { 'application/json': { schema: signInSchema } } } },
    responses: {
      200: { ...json(sessionViewSchema, 'Signed in'), headers: setCookie },
      400: error('No apiKey in the body'),
      401: error('Invalid or revoked API key'),
      415: error('The body is not JSON'),
    },
  },
  {
    method: 'get',
    path: '/session',
    summary: 'The session of the cookie: its workspace and CSRF token (for a page after a reload)',
    tags: ['session'],
    security: [{ sessionCookie: [] }],
    responses: { 200: json(sessionViewSchema, 'Signed in'), 401: error('No session, or it has ended') },
  },
  {
    method: 'delete',
    path: '/session',
    summary: 'Sign out: the session ends on the server and the cookie is cleared',
    tags: ['session'],
    security: [{ sessionCookie: [] }],
    responses: {
      204: { description: 'Signed out (also when the session had already ended)' },
      403: error(`The ${CSRF_HEADER} header is missing or wrong`),
    },
  },
];

import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';

// The dashboard (web/, built into web/dist) served by the API process on the same port, so the session
// cookie is same-origin and nothing else has to run. A path of the API itself is never answered with the
// page: unknown API paths stay JSON 404s for scripts.

/** No inline script or style anywhere: what the page shows of contacts' data cannot become code. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export const DEFAULT_WEB_DIST = fileURLToPath(new URL('../web/dist', import.meta.url));

/** Paths the API answers; the dashboard's client-side routes live outside them (/, /c/:id...). */
const API_PATH = /^\/(apps|connections|session|healthz|readyz|openapi\.json)(\/|$)/;

export const isApiPath = (p: string) => API_PATH.test(p);

/** Every answer, JSON included, carries the policy: a browser opening an API URL gets it too. */
export function securityHeaders(): RequestHandler {
  return (_req, res, next) => {
    res.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Referrer-Policy', 'same-origin');
    next();
  };
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

const NOT_BUILT = (dist: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Rapport: dashboard not built</title></head>
<body><h1>The dashboard is not built</h1>
<p>This API serves the dashboard from <code>${dist.replace(/[<>&]/g, '')}</code>, which has no index.html.
Build it with <code>npm run build:web</code> (<code>npm start</code> does it for you), then reload.</p>
<p>The JSON API works without it: see <a href="/openapi.json">/openapi.json</a>.</p></body></html>
`;

/**
 * Files of web/dist, then index.html for the client-side routes: a GET that asks for HTML, outside the API's
 * paths. The folder is looked at per request, so a build made after the API started is served at once.
 */
export function dashboard(dist: string = DEFAULT_WEB_DIST): express.Router {
  const router = express.Router();
  const index = path.join(dist, 'index.html');
  const files = express.static(dist, {
    index: false,
    // Vite names its bundles by content hash: they never change, so browsers may keep them.
    setHeaders: (res, file) => {
      const hashed = file.startsWith(path.join(dist, 'assets') + path.sep);
      res.set('Cache-Control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  router.use((req: Request, res: Response, next: NextFunction) => (isApiPath(req.path) ? next() : files(req, res, next)));
  router.get(/.*/, async (req: Request, res: Response, next: NextFunction) => {
    const page = req.path === '/' || (!isApiPath(req.path) && req.accepts(['json', 'html']) === 'html' && !!req.get('accept')?.includes('text/html'));
    if (!page) return next();
    if (!(await exists(index))) {
      res.status(503).type('html').set('Cache-Control', 'no-store').send(NOT_BUILT(dist));
      return;
    }
    res.set('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}

import type { NextFunction, Request, Response } from 'express';

// The gate in front of a sandbox's API routes, where injected faults, rate limits and added delays apply.
// Each app decides (in `check`) what counts, in which order, and how a refusal reads in its own words; the
// gate only sends the refusal or lets the request through.

/** A request turned away before it is served: the status, the app's error body and headers such as Retry-After. */
export interface Refusal {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export function sendRefusal(res: Response, refusal: Refusal): void {
  res.status(refusal.status).set(refusal.headers ?? {}).json(refusal.body);
}

/**
 * Express middleware: `check` counts the request and returns its refusal, if any (it may also set headers every
 * answer carries, or throw the app's own error for its error handler); a request let through waits `delayMs` first.
 */
export function gate<Req extends Request = Request>(
  check: (req: Req, res: Response) => Refusal | null | undefined,
  delayMs?: (req: Req, res: Response) => number,
) {
  return (req: Req, res: Response, next: NextFunction): void => {
    const refusal = check(req, res);
    if (refusal) return sendRefusal(res, refusal);
    const delay = delayMs?.(req, res) ?? 0;
    if (delay > 0) setTimeout(() => next(), delay);
    else next();
  };
}

/** The Retry-After header for a refusal, none when the app sends none. */
export function retryAfter(seconds: number | undefined): Record<string, string> {
  return seconds === undefined ? {} : { 'Retry-After': String(seconds) };
}

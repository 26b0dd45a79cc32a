import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';

export { createLogger, redactOptions, redactPaths } from '../lib/logger';

// Request logs carry method, path, status and duration only: no bodies, no headers, no query strings.
// The redaction below is the second line of defence, for anything that logs an object carrying a secret.

export function requestLogger(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const status = res.statusCode;
      const entry = {
        method: req.method,
        path: req.originalUrl.split('?')[0],
        status,
        durationMs: Math.round(durationMs * 10) / 10,
        workspaceId: res.locals.auth?.workspaceId as string | undefined,
      };
      // 502-504 are answers about Temporal or readiness, polled by probes: a warning, not an error of ours.
      if (status === 500) logger.error(entry, 'request failed');
      else if (status > 500) logger.warn(entry, 'request not served');
      else logger.info(entry, 'request');
    });
    next();
  };
}

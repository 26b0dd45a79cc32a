import pino, { type Logger, type LoggerOptions } from 'pino';

// One logger setup for every process. The code never logs credentials on purpose; redaction is the second
// line of defence, for anything that logs an object carrying a secret.
export const redactPaths = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'credentials',
  '*.credentials',
  '*.*.credentials',
  'apiToken',
  '*.apiToken',
  'masterKey',
  'apiKey',
  '*.apiKey',
  '*.password',
  '*.accessToken',
  '*.refreshToken',
];

export const redactOptions = { paths: redactPaths, censor: '[redacted]' };

export function createLogger(options: LoggerOptions | string = {}, destination?: pino.DestinationStream): Logger {
  const given = typeof options === 'string' ? { name: options } : options;
  const merged: LoggerOptions = {
    level: process.env.LOG_LEVEL ?? 'info',
    name: 'rapport',
    ...given,
    redact: redactOptions,
  };
  return destination ? pino(merged, destination) : pino(merged);
}
